import { describe, expect, it } from 'vitest';
import { ACTIONS, PERMISSIONS, can, canSeeSite, permissionsOf, scopeSite, visibleSites } from '../../server/auth/roles.ts';
import type { StoreTwinError } from '../../server/errors.ts';
import { ROLES } from '../../server/storage/types.ts';

describe('permission matrix', () => {
  it('lists every action and gives admin all of them', () => {
    expect(Object.keys(PERMISSIONS).sort()).toEqual([...ACTIONS].sort());
    expect(permissionsOf('admin')).toEqual([...ACTIONS]);
  });

  it('only names known roles', () => {
    for (const roles of Object.values(PERMISSIONS)) for (const r of roles) expect(ROLES).toContain(r);
  });

  it('matches the documented jobs', () => {
    expect(can('technician', 'devices:write')).toBe(true);
    expect(can('technician', 'alarms:ack')).toBe(false);
    expect(can('technician', 'zones:arm')).toBe(false);
    expect(can('manager', 'zones:arm')).toBe(true);
    expect(can('manager', 'alarms:ack')).toBe(true);
    expect(can('manager', 'devices:write')).toBe(false);
    expect(can('operator', 'alarms:ack')).toBe(true);
    expect(can('operator', 'zones:arm')).toBe(false);
    expect(can('operator', 'devices:write')).toBe(false);
    for (const role of ['manager', 'operator', 'technician'] as const) {
      expect(can(role, 'users:manage')).toBe(false);
      for (const read of ['sites:read', 'state:read', 'events:read', 'devices:read'] as const) expect(can(role, read)).toBe(true);
    }
  });
});

describe('site scoping', () => {
  const all = { sites: [] };
  const one = { sites: ['demo-shop'] };
  const two = { sites: ['demo-shop', 'demo-hotel'] };

  it('treats an empty list as every site', () => {
    expect(canSeeSite(all, 'anything')).toBe(true);
    expect(canSeeSite(one, 'demo-shop')).toBe(true);
    expect(canSeeSite(one, 'demo-hotel')).toBe(false);
    expect(visibleSites(one, [{ id: 'demo-hotel' }, { id: 'demo-shop' }])).toEqual([{ id: 'demo-shop' }]);
  });

  it('narrows queries to a visible site and hides the others as not found', () => {
    expect(scopeSite(all, undefined)).toBeUndefined();
    expect(scopeSite(one, undefined)).toBe('demo-shop');
    expect(scopeSite(two, 'demo-hotel')).toBe('demo-hotel');
    expect(() => scopeSite(one, 'demo-hotel')).toThrow(expect.objectContaining({ code: 'STW_ERR_SITE_NOT_FOUND' }) as StoreTwinError);
    expect(() => scopeSite(two, undefined)).toThrow(expect.objectContaining({ code: 'STW_ERR_VALIDATION' }) as StoreTwinError);
  });
});
