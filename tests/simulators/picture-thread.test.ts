/**
 * Camera pictures rendered in the picture thread: the same JPEG as rendering in place, pictures
 * asked for together all arrive, a picture that cannot be made is a rejection (not a hang), and
 * the thread comes back after it was closed.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { jpegComment, renderSnapshotPlan, type SnapshotPlan } from '../../devices/shared/snapshot.ts';
import { PictureThread } from '../../simulators/picture-thread.ts';

const plan: SnapshotPlan = { label: 'cam-lobby', time: '2026-11-29 02:14:07', takenAt: '2026-11-28T18:14:07.000Z', hour: 2, zoneKind: 'lobby', people: 2, seed: 42 };
const pictures = new PictureThread();

afterAll(async () => {
  await pictures.close();
});

describe('PictureThread', () => {
  it('renders the JPEG that rendering in place gives', async () => {
    const jpeg = await pictures.render(plan);
    expect(jpeg.readUInt16BE(0)).toBe(0xffd8);
    expect(jpegComment(jpeg)).toBe(`taken ${plan.takenAt}`);
    expect(jpeg.equals(renderSnapshotPlan(plan))).toBe(true);
  }, 30_000);

  it('answers pictures of several cameras asked for together, each its own', async () => {
    const plans = Array.from({ length: 6 }, (_, i) => ({ ...plan, label: `cam-${i}`, seed: i, people: i % 4 }));
    const jpegs = await Promise.all(plans.map((p) => pictures.render(p)));
    jpegs.forEach((jpeg, i) => expect(jpeg.equals(renderSnapshotPlan(plans[i]!)), `picture ${i}`).toBe(true));
    expect(new Set(jpegs.map((j) => j.toString('base64'))).size).toBe(6);
  }, 30_000);

  it('answers a camera asked again while its picture is being made with that picture', async () => {
    const [first, again] = await Promise.all([pictures.render(plan), pictures.render({ ...plan, seed: 7 })]);
    expect(again).toBe(first);
    // Asked once that one is made: a new picture.
    expect((await pictures.render({ ...plan, seed: 7 })).equals(renderSnapshotPlan({ ...plan, seed: 7 }))).toBe(true);
  }, 30_000);

  it('rejects a picture it cannot make', async () => {
    await expect(pictures.render({ ...plan, time: null as unknown as string })).rejects.toThrow();
    // The thread still works afterwards.
    expect((await pictures.render(plan)).equals(renderSnapshotPlan(plan))).toBe(true);
  }, 30_000);

  it('rejects what is pending when closed, and starts again with the next picture', async () => {
    const pending = expect(pictures.render(plan)).rejects.toThrow(/closed/);
    await pictures.close();
    await pending;
    expect((await pictures.render(plan)).readUInt16BE(0)).toBe(0xffd8);
  }, 30_000);
});
