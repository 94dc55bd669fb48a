/**
 * What the core needs from the platform it runs on, and nothing more: the
 * Web-standard globals that Node, a browser page and a Web Worker all have.
 * `tsc -p core` checks the core against this list only (no Node types, no
 * DOM), so a Node API (fs, Buffer, process…) used in core/ is a type error.
 */
declare class TextEncoder {
  encode(input?: string): Uint8Array;
  encodeInto(src: string, dest: Uint8Array): { read: number; written: number };
}
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean });
  decode(input?: ArrayBufferView | ArrayBuffer, options?: { stream?: boolean }): string;
}
declare const performance: { now(): number };
declare function setTimeout(fn: () => void, ms?: number): unknown;
declare function clearTimeout(handle: unknown): void;
