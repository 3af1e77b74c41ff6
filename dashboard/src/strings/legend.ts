import { defineStrings } from './define.ts';

export const legendStrings = defineStrings({}, {});
