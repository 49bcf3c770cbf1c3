/** The formats `ployzctl debug statechart` writes. */
export const STATECHART_FORMATS = ["mermaid", "dot", "json", "ascii"] as const;
export type StatechartFormat = (typeof STATECHART_FORMATS)[number];
