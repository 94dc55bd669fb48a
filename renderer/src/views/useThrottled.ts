import { useEffect, useRef, useState } from 'react';
import { useDataVersion } from '../stores/data.js';

/** The session's data version, updated at most every `ms` (for views whose queries cost more than a frame allows). */
export function useThrottledVersion(id: string | null, ms: number): number {
  const v = useDataVersion(id);
  const [shown, setShown] = useState(v);
  const last = useRef(0);
  useEffect(() => {
    const wait = last.current + ms - performance.now();
    if (wait <= 0) {
      last.current = performance.now();
      setShown(v);
      return;
    }
    const t = setTimeout(() => {
      last.current = performance.now();
      setShown(v);
    }, wait);
    return () => clearTimeout(t);
  }, [v, ms]);
  return shown;
}
