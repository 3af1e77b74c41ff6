/**
 * The shipped demo shop with the test-only ACME models of tests/devices/fake-types.ts in it:
 * the south entrance counter is an ACME people counter, and the cash room's camera an ACME
 * camera hanging in the back corridor that watches the cash room (so its motion counts for the
 * cash room only through `watches`). Only valid while the catalogue lists the ACME types.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { load } from 'js-yaml';
import { REPO_ROOT } from '../../server/config.ts';
import type { SiteInput } from '../../server/sites/model.ts';

export const ACME_COUNTER = 'shop-counter-south';
export const ACME_CAMERA = 'acme-cam-cash';

type Placement = NonNullable<SiteInput['devices']>[number];

export async function acmeShop(): Promise<SiteInput> {
  const shop = load(await readFile(path.join(REPO_ROOT, 'sites', 'demo-shop.yaml'), 'utf8')) as SiteInput;
  const devices = (shop.devices ?? []).filter((d) => d.id !== 'shop-cam-cash');
  const counter = devices.find((d) => d.id === ACME_COUNTER)!;
  counter.type = 'acme-people-counter';
  const camera: Placement = {
    id: ACME_CAMERA,
    type: 'acme-nvr-camera',
    zone: 'back-corridor',
    watches: ['cash-room'],
    fov: { heading: 0, angle: 90, range: 6 },
    label: 'Cash room (ACME)',
  };
  return { ...shop, devices: [...devices, camera] };
}
