import { defineStrings } from './define.ts';

export const overviewStrings = defineStrings(
  {
    nav: 'Overview',
  },
  {
    nav: '总览',
  },
);
