export { createTwinView, type TwinViewOptions } from './twin-view.ts';
export type { FloorBox, Pick, SiteModel, TwinStats, TwinView } from './types.ts';
export { SEVERITY_COLORS, STATE_COLORS, KIND_COLORS } from './palette.ts';
