import { defineStrings } from './define.ts';

export const replayStrings = defineStrings({}, {});
