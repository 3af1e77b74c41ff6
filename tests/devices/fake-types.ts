/**
 * Two device models that exist only in tests: another make of people counter and of network
 * camera, each speaking the built-in type's payloads under its own id, label and id prefix.
 * tests/devices/new-type.test.ts registers them the way devices/index.ts registers a module;
 * the server must then treat them by what they can do, never by the built-in ids.
 *
 * (This file must not import devices/index.ts: the test's module mock builds on it.)
 */
import { camera } from '../../devices/camera.ts';
import { footfallCounter } from '../../devices/footfall-counter.ts';
import type { DeviceType } from '../../devices/types.ts';

export const acmePeopleCounter: DeviceType = {
  ...footfallCounter,
  id: 'acme-people-counter',
  label: { en: 'ACME people counter', 'zh-CN': 'ACME 客流计数器' },
  idPrefix: 'acme-pc',
};

export const acmeNvrCamera: DeviceType = {
  ...camera,
  id: 'acme-nvr-camera',
  label: { en: 'ACME NVR camera', 'zh-CN': 'ACME 网络摄像机' },
  idPrefix: 'acme-cam',
};

export const FAKE_TYPES: readonly DeviceType[] = [acmePeopleCounter, acmeNvrCamera];
