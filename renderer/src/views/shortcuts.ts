/**
 * Keyboard shortcuts: the list the `?` overlay shows, and the keys that work in every view
 * (handled on the window; a key typed into a field is the field's). The timeline's own keys are
 * handled on its canvas (TimelineView) and listed here so the overlay tells the whole story.
 */
import { VIEWS } from '../stores/ui.js';

export interface Shortcut {
  keys: string;
  does: string;
  where: string;
}

export const SHORTCUTS: readonly Shortcut[] = [
  { keys: '?', does: 'show or hide this list', where: 'everywhere' },
  { keys: 'Esc', does: 'close this list, the legend or the coroutine detail', where: 'everywhere' },
  ...VIEWS.map((v, i) => ({ keys: String(i + 1), does: `go to ${v.title}`, where: 'everywhere' })),
  { keys: 'L', does: 'show or hide the legend of colours', where: 'Timeline' },
  { keys: 'wheel', does: 'zoom at the pointer', where: 'Timeline' },
  { keys: 'Shift + wheel', does: 'scroll the rows', where: 'Timeline' },
  { keys: 'drag', does: 'pan', where: 'Timeline' },
  { keys: '← →', does: 'pan a quarter of the view', where: 'Timeline (canvas focused)' },
  { keys: '↑ ↓', does: 'scroll the rows', where: 'Timeline (canvas focused)' },
  { keys: '+ −', does: 'zoom in and out', where: 'Timeline (canvas focused)' },
  { keys: 'F', does: 'follow the live end (live sessions)', where: 'Timeline (canvas focused)' },
  { keys: 'click', does: 'select a coroutine (its row, its span)', where: 'Timeline, Coroutines' },
];

/** Whether a key event belongs to a text field rather than to the shortcuts. */
export function typing(e: KeyboardEvent): boolean {
  const t = e.target as HTMLElement | null;
  return !!t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable);
}
