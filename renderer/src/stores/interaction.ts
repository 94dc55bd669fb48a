/**
 * When the user last moved a view (pan, zoom, scroll): background streams yield to it. The
 * analysis of a big trace (stores/connect.ts: every event through the worker's derived tables
 * while the timeline draws from the overview) holds its acks while the user interacts, so the
 * host's flow control pauses that stream and the main thread and the worker are free for the
 * frames; it resumes INTERACTION_MS after the last input.
 */
export const INTERACTION_MS = 400;

let until = 0;

const now = () => (typeof performance === 'object' ? performance.now() : Date.now());

/** The user moved a view now. */
export function noteInteraction(): void {
  until = now() + INTERACTION_MS;
}

/** How long (ms) background streams should still wait; 0 when the user is not interacting. */
export function interactionWait(): number {
  return Math.max(0, until - now());
}
