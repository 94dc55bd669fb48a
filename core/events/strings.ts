/**
 * StringTable: the interned strings of one event stream (names, paths,
 * addresses, symbols), id -> text. The addon resolves STRING/STRING_MORE
 * records and hands over [id, text] pairs; event fields hold the ids.
 */
export class StringTable {
  private readonly map = new Map<number, string>();

  add(pairs: Iterable<readonly [number, string]>): void {
    for (const [id, text] of pairs) this.map.set(id, text);
  }
  set(id: number, text: string): void {
    this.map.set(id, text);
  }
  /** The text of id, or '' for id 0 / an id never defined. */
  get(id: number): string {
    return id ? (this.map.get(id) ?? '') : '';
  }
  has(id: number): boolean {
    return this.map.has(id);
  }
  get size(): number {
    return this.map.size;
  }
  entries(): IterableIterator<[number, string]> {
    return this.map.entries();
  }
}
