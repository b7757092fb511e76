/** @jsxImportSource preact */
// The sign-in form of the dashboard (admin token) and the portal (API key): the secret goes to this tab's
// sessionStorage under `storageKey`, `check` tries it, and a refusal's message is shown.
import { useState } from "preact/hooks";

export interface SignInProps {
  title: string;
  label: string;
  /** The input's name (tests fill it by name). */
  field: string;
  autoComplete: string;
  storageKey: string;
  check: () => Promise<unknown>;
  onIn: () => void;
  message?: string;
}

export function SignIn({ title, label, field, autoComplete, storageKey, check, onIn, message = "" }: SignInProps) {
  const [error, setError] = useState(message);
  const submit = async (e: Event) => {
    e.preventDefault();
    sessionStorage.setItem(storageKey, String(new FormData(e.target as HTMLFormElement).get(field) ?? "").trim());
    try {
      await check();
      onIn();
    } catch (err) {
      sessionStorage.removeItem(storageKey);
      setError((err as Error).message);
    }
  };
  return (
    <form class="signin card" id="signin" onSubmit={submit}>
      <h2>{title}</h2>
      <label>
        {label}
        <input name={field} type="password" autoComplete={autoComplete} required />
      </label>
      <p>
        <button class="primary" type="submit">
          Sign in
        </button>
      </p>
      {error && (
        <p class="error" id="signin-error">
          {error}
        </p>
      )}
    </form>
  );
}
