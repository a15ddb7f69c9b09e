// Shared UI pieces: the app context, data loading, status messages, usage bars, dialogs.
import { createContext, type ComponentChildren } from 'preact';
import { useContext, useEffect, useRef, useState, useCallback } from 'preact/hooks';
import { ApiError, type ApiClient } from './lib/api';
import { FormError } from './lib/limits-form';
import type { Session } from './lib/nav';
import { barStep, type Bar } from './lib/format';

export interface AppCtx { api: ApiClient; session: Session; refreshSession: () => void }
export const Ctx = createContext<AppCtx | null>(null);
export function useApp(): AppCtx {
  const c = useContext(Ctx);
  if (!c) throw new Error('no app context');
  return c;
}

export function errText(e: unknown): string {
  return e instanceof ApiError || e instanceof FormError ? e.message : 'Something went wrong.';
}

export interface Loaded<T> { data: T | null; error: string | null; loading: boolean; reload: () => void }

/** GET path (null: nothing) whenever it changes. */
export function useGet<T>(path: string | null): Loaded<T> {
  const { api } = useApp();
  const [state, setState] = useState<{ data: T | null; error: string | null; loading: boolean }>({ data: null, error: null, loading: path !== null });
  const [n, setN] = useState(0);
  useEffect(() => {
    if (path === null) return;
    let live = true;
    setState((s) => ({ ...s, loading: true, error: null }));
    api.get<T>(path).then(
      (data) => { if (live) setState({ data, error: null, loading: false }); },
      (e) => { if (live) setState({ data: null, error: errText(e), loading: false }); },
    );
    return () => { live = false; };
  }, [path, n]);
  const reload = useCallback(() => setN((x) => x + 1), []);
  return { ...state, reload };
}

export function Status({ error, ok }: { error?: string | null; ok?: string | null }) {
  return (
    <div class="status" aria-live="polite" role="status">
      {error ? <p class="msg msg-error">{error}</p> : null}
      {ok ? <p class="msg msg-ok">{ok}</p> : null}
    </div>
  );
}

export function Loading<T>({ l, children }: { l: Loaded<T>; children: (d: T) => ComponentChildren }) {
  if (l.error) return <Status error={l.error} />;
  if (l.loading || l.data === null) return <p class="muted" aria-busy="true">Loading…</p>;
  return <>{children(l.data)}</>;
}

export function UsageBar({ label, bar, text }: { label: string; bar: Bar; text: string }) {
  return (
    <div class="bar-row">
      <div class="bar-label"><span>{label}</span><span class="muted">{text}</span></div>
      {bar.level === 'none'
        ? <div class="bar bar-none" aria-hidden="true"></div>
        : (
          <div class="bar" role="meter" aria-label={label} aria-valuemin={0} aria-valuemax={100}
            aria-valuenow={Math.round((bar.ratio ?? 0) * 100)} aria-valuetext={text}>
            <div class={`bar-fill w${barStep(bar)} lvl-${bar.level}`}></div>
          </div>
        )}
    </div>
  );
}

/** A modal dialog (native <dialog>): Escape closes, focus returns to the opener. */
export function Dialog({ title, open, onClose, children }: { title: string; open: boolean; onClose: () => void; children: ComponentChildren }) {
  const ref = useRef<HTMLDialogElement>(null);
  const opener = useRef<Element | null>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) { opener.current = document.activeElement; d.showModal(); }
    if (!open && d.open) d.close();
    if (!open && opener.current instanceof HTMLElement) { opener.current.focus(); opener.current = null; }
  }, [open]);
  return (
    <dialog ref={ref} aria-labelledby="dlg-title" onClose={onClose} onCancel={(e) => { e.preventDefault(); onClose(); }}>
      <h2 id="dlg-title">{title}</h2>
      {open ? children : null}
    </dialog>
  );
}

/** Runs a change; returns [busy, error, ok, run]. */
export function useAction(): { busy: boolean; error: string | null; ok: string | null; run: (f: () => Promise<unknown>, okText?: string) => Promise<boolean>; clear: () => void } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [ok, setOk] = useState<string | null>(null);
  const run = async (f: () => Promise<unknown>, okText?: string) => {
    setBusy(true); setError(null); setOk(null);
    try { await f(); setOk(okText ?? null); return true; } catch (e) { setError(errText(e)); return false; } finally { setBusy(false); }
  };
  return { busy, error, ok, run, clear: () => { setError(null); setOk(null); } };
}

export function Field({ label, children, hint }: { label: string; children: ComponentChildren; hint?: string }) {
  return (
    <label class="field"><span class="field-label">{label}</span>{children}{hint ? <span class="hint">{hint}</span> : null}</label>
  );
}
