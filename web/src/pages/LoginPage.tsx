// Login with a Kubernetes bearer token. The token goes once, in a POST body, to the console server,
// which keeps it; the page forgets it right after.
import { useState, type FormEvent } from "react";
import { ApiError } from "../api.ts";
import { ErrorBox } from "../components/common.tsx";
import { login, logoutReason } from "../session.ts";
import { useObservable } from "../store.ts";

export function LoginPage() {
  const [token, setToken] = useState("");
  const [error, setError] = useState<ApiError | Error | null>(null);
  const [busy, setBusy] = useState(false);
  const reason = useObservable(logoutReason);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await login(token);
      setToken("");
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="login">
      {/* method=post: were scripts to fail, a native submit must never put the token in the URL */}
      <form className="login-card" method="post" onSubmit={(e) => void submit(e)} data-testid="login-form">
        <h1>
          mesh<b>lift</b> console
        </h1>
        <p className="muted">
          Log in with a Kubernetes bearer token. Everything you do here is done with it, so Kubernetes RBAC decides what
          you may change.
        </p>
        {reason ? (
          <div className="notice" data-testid="logout-reason">
            {reason}
          </div>
        ) : null}
        <label htmlFor="token">Bearer token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={token}
          onChange={(e) => setToken(e.target.value)}
          placeholder="e.g. the output of kubectl create token …"
          data-testid="token"
        />
        <ErrorBox error={error} testId="login-error" />
        <button type="submit" className="btn btn-primary" disabled={busy} data-testid="login-submit">
          {busy ? "Checking…" : "Log in"}
        </button>
        <p className="muted small">
          The demo (<code>npm start</code>) prints an admin and a read-only token. The token stays on the console server
          for the session and is never put in a URL or a log.
        </p>
      </form>
    </div>
  );
}
