// Types for check-php-layers.mjs (used by test/php-layers.test.ts).
export function includesOf(src: string): { target: string; line: number }[];
export function checkLayers(root: string): string[];
