/**
 * FrameSource: one canvas's link to the data worker's timeline (worker/protocol.ts `tracks` and
 * `frame` queries). At most one frame request is in flight per canvas: a request made meanwhile
 * replaces the one waiting, so the canvas always gets the newest viewport next and never a queue
 * of stale ones; the newest answer is kept for painting (draw.ts paints it moved onto the current
 * viewport until the next one arrives). The track list is asked again only when a frame says the
 * tracks changed (its tracksVersion). A frame that wants detail (a big trace drawn from its
 * overview: `want`) makes the host read that window (readWindow, once per tag, once the view rests): its events go to
 * the data worker as 'window' pushes, and the next frame is drawn from them.
 */
import type { FrameRequest, TimelineFrame, TracksAnswer } from '../../worker/protocol.js';
import { query } from '../../worker/client.js';
import { getApi } from '../../api/index.js';

/** How long the view must rest before its detail is read. */
const WANT_SETTLE_MS = 150;

export class FrameSource {
  frame: TimelineFrame | null = null;
  tracks: TracksAnswer | null = null;
  private inflight = false;
  private waiting: FrameRequest | null = null;
  private tracksInflight = false;
  private closed = false;
  private wantedTag = 0;
  private wantTimer: ReturnType<typeof setTimeout> | undefined;

  /** onFrame: a new frame answer arrived; onTracks: a new track list arrived. */
  constructor(
    private readonly session: string,
    private readonly onFrame: () => void,
    private readonly onTracks: () => void,
  ) {}

  /** Asks for a frame (replacing the request waiting, if any). */
  request(req: FrameRequest): void {
    this.waiting = req;
    this.pump();
  }

  /**
   * Asks for the track list unless it is on its way or current: of `version` (the session's
   * newest, from its version notice) or else of the newest frame.
   */
  needTracks(version?: number): void {
    const want = version ?? this.frame?.tracksVersion;
    if (this.tracksInflight || (this.tracks && (want === undefined || this.tracks.version === want))) return;
    this.tracksInflight = true;
    query(this.session, 'tracks', {})
      .then(
        (t) => {
          if (this.closed) return;
          this.tracks = t;
          this.onTracks();
        },
        (e: Error) => console.warn(`coroscope: tracks: ${e.message}`),
      )
      .finally(() => {
        this.tracksInflight = false;
      });
  }

  close(): void {
    this.closed = true;
    if (this.wantTimer) clearTimeout(this.wantTimer);
  }

  /**
   * Asks the host for a window's detail once the view has settled (no newer want for
   * WANT_SETTLE_MS): a pan or zoom in progress asks for nothing, so windows are not read and
   * dropped at every step.
   */
  private want(w: NonNullable<TimelineFrame['want']>): void {
    this.wantedTag = w.tag;
    if (this.wantTimer) clearTimeout(this.wantTimer);
    this.wantTimer = setTimeout(() => {
      this.wantTimer = undefined;
      if (this.closed || this.wantedTag !== w.tag) return;
      getApi()
        .readWindow(this.session, w)
        .catch((e: Error) => console.warn(`coroscope: detail: ${e.message}`));
    }, WANT_SETTLE_MS);
  }

  private pump(): void {
    if (this.inflight || !this.waiting || this.closed) return;
    const req = this.waiting;
    this.waiting = null;
    this.inflight = true;
    query(this.session, 'frame', req)
      .then(
        (f) => {
          if (this.closed) return;
          this.frame = f;
          this.onFrame();
          if (f.want && f.want.tag !== this.wantedTag) this.want(f.want);
        },
        (e: Error) => console.warn(`coroscope: frame: ${e.message}`),
      )
      .finally(() => {
        this.inflight = false;
        this.pump();
      });
  }
}
