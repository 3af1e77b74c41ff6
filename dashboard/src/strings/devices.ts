import { defineStrings } from './define.ts';

export const devicePageStrings = defineStrings(
  {
    nav: 'Devices',
  },
  {
    nav: '设备管理',
  },
);
