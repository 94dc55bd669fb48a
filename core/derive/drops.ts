/**
 * DropStats: events lost because a thread's ring was full (DROP records:
 * a0 events lost, a1 / a2 ts of the first / last lost one), in total and per
 * thread id.
 */
export interface DropSummary {
  /** Events lost. */
  lost: number;
  /** DROP records seen. */
  records: number;
  /** Per thread: events lost and the time span they covered. */
  perThread: { tid: number; lost: number; first: number; last: number }[];
}

export class DropStats {
  lost = 0;
  records = 0;
  private readonly perTid = new Map<number, { lost: number; first: number; last: number }>();

  add(tid: number, lost: number, first: number, last: number): void {
    this.lost += lost;
    this.records++;
    const t = this.perTid.get(tid);
    if (t) {
      t.lost += lost;
      t.first = Math.min(t.first, first);
      t.last = Math.max(t.last, last);
    } else {
      this.perTid.set(tid, { lost, first, last });
    }
  }

  summary(): DropSummary {
    const perThread = [...this.perTid].map(([tid, t]) => ({ tid, ...t })).sort((a, b) => a.tid - b.tid);
    return { lost: this.lost, records: this.records, perThread };
  }
}
