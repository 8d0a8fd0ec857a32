import { useEffect, useState } from "preact/hooks";
import { call, session, whenUnauthorized } from "./api";
import { ErrorBox, Field } from "./ui";
import { Analytics } from "./screens/analytics";
import { Customers } from "./screens/customers";
import { Program } from "./screens/program";
import { Events } from "./screens/events";
import { ApiKeys } from "./screens/keys";
import { Widget } from "./screens/widget";

const SCREENS = [
  ["analytics", "Analytics"],
  ["customers", "Customers"],
  ["program", "Program"],
  ["events", "Events"],
  ["widget", "Widget"],
  ["keys", "API keys"],
] as const;

function useHash(): string[] {
  const read = () => location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  const [parts, setParts] = useState(read);
  useEffect(() => {
    const onChange = () => setParts(read());
    addEventListener("hashchange", onChange);
    return () => removeEventListener("hashchange", onChange);
  }, []);
  return parts;
}

export function App() {
  const [signedIn, setSignedIn] = useState(() => session.key() !== null);
  useEffect(() => whenUnauthorized(() => {
    session.signOut();
    setSignedIn(false);
  }), []);
  if (!signedIn) return <SignIn onDone={() => setSignedIn(true)} />;
  return (
    <Shell
      onSignOut={() => {
        session.signOut();
        setSignedIn(false);
      }}
    />
  );
}

function SignIn({ onDone }: { onDone: () => void }) {
  const [key, setKey] = useState("");
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await call("GET", "/v1/admin/api-keys", { key: key.trim() }); // an admin route: proves the scope
      session.signIn(key.trim());
      onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin">
      <form class="card" onSubmit={submit} aria-labelledby="signin-title">
        <h1 id="signin-title">
          <span class="logo" aria-hidden="true">●</span> Pollen
        </h1>
        <p class="muted">Sign in with an admin API key. It stays in this tab only and is forgotten when the tab closes.</p>
        <Field label="Admin API key" type="password" value={key} onValue={setKey} required autoComplete="off" name="api-key" />
        <ErrorBox error={error} />
        <button type="submit" disabled={busy || !key.trim()}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}

function Shell({ onSignOut }: { onSignOut: () => void }) {
  const [screen = "analytics", ...rest] = useHash();
  const current = SCREENS.some(([id]) => id === screen) ? screen : "analytics";
  useEffect(() => {
    document.title = `${SCREENS.find(([id]) => id === current)![1]} · Pollen`;
    document.getElementById("main")?.focus();
  }, [current]);
  return (
    <div class="shell">
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById("main")?.focus(); }}>
        Skip to content
      </a>
      <header class="top">
        <span class="brand">
          <span class="logo" aria-hidden="true">●</span> Pollen
        </span>
        <nav aria-label="Screens">
          <ul>
            {SCREENS.map(([id, label]) => (
              <li key={id}>
                <a href={`#/${id}`} aria-current={id === current ? "page" : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <button type="button" class="secondary" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {current === "analytics" && <Analytics />}
        {current === "customers" && <Customers customerId={rest[0]} orderId={rest[1] === "orders" ? rest[2] : undefined} />}
        {current === "program" && <Program />}
        {current === "events" && <Events />}
        {current === "widget" && <Widget />}
        {current === "keys" && <ApiKeys />}
      </main>
    </div>
  );
}
