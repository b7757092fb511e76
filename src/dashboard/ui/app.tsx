/** @jsxImportSource preact */
// The dashboard: a Preact app over the admin API, with uPlot charts. Bundled into the binary at build
// time (Bun's HTML import); the admin token lives in this tab's sessionStorage and is sent as a Bearer
// header, never in a URL or a cookie.
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, TOKEN } from "./api.ts";
import { SignIn } from "./sign-in.tsx";
import { Customers } from "./customers-page.tsx";
import { Audit } from "./audit-page.tsx";
import { KeyDetail, Keys } from "./keys-page.tsx";
import { Overview } from "./overview-page.tsx";
import { Requests } from "./requests-page.tsx";

function App() {
  const [signedIn, setSignedIn] = useState(Boolean(sessionStorage.getItem(TOKEN)));
  const [route, setRoute] = useState(location.hash || "#/overview");
  useEffect(() => {
    const on = () => setRoute(location.hash || "#/overview");
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  const [me, setMe] = useState<{ name: string; role: string } | null>(null);
  useEffect(() => {
    if (!signedIn) return;
    // A viewer's token may read everything and change nothing: what would change something is hidden.
    api("/admin/whoami").then((who: { name: string; role: string }) => {
      setMe(who);
      document.body.classList.toggle("viewer", who.role === "viewer");
    }, () => {});
  }, [signedIn]);
  if (!signedIn) return <SignIn title="Gateway dashboard" label="Admin token" field="token" autoComplete="current-password" storageKey={TOKEN} check={() => api("/admin/overview")} onIn={() => setSignedIn(true)} />;
  const keyId = /^#\/keys\/(.+)$/.exec(route)?.[1];
  const link = (hash: string, text: string) => (
    <a href={hash} class={route.startsWith(hash) ? "active" : ""}>
      {text}
    </a>
  );
  return (
    <div>
      <header>
        <strong>Gateway</strong>
        {link("#/overview", "Overview")}
        {link("#/customers", "Customers")}
        {link("#/keys", "Keys")}
        {link("#/requests", "Requests")}
        {link("#/audit", "Audit")}
        {me && (
          <span id="whoami">
            {me.name}
            {me.role === "viewer" ? " (viewer)" : ""}
          </span>
        )}
        <button
          onClick={() => {
            sessionStorage.removeItem(TOKEN);
            setSignedIn(false);
          }}
        >
          Sign out
        </button>
      </header>
      <main>{keyId ? <KeyDetail id={decodeURIComponent(keyId)} /> : route.startsWith("#/keys") ? <Keys /> : route.startsWith("#/customers") ? <Customers /> : route.startsWith("#/requests") ? <Requests /> : route.startsWith("#/audit") ? <Audit /> : <Overview />}</main>
    </div>
  );
}

render(<App />, document.getElementById("app")!);
