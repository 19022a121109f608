// The app shell: login gate, navigation with the live-stream state and the user, and the routes.
import { useEffect } from "react";
import { live } from "./live.ts";
import { LoginPage } from "./pages/LoginPage.tsx";
import { OverviewPage } from "./pages/OverviewPage.tsx";
import { PrecheckPage } from "./pages/PrecheckPage.tsx";
import { StartUpgradePage } from "./pages/StartUpgradePage.tsx";
import { UpgradeDetailPage } from "./pages/UpgradeDetailPage.tsx";
import { UpgradesPage } from "./pages/UpgradesPage.tsx";
import { WorkloadsPage } from "./pages/WorkloadsPage.tsx";
import { Link, matchRoute, navigate, useLocation, type RouteDefinition } from "./router.tsx";
import { logout, restoreSession, session } from "./session.ts";
import { useObservable } from "./store.ts";

/** Every page of the console; the order decides the navigation bar and which pattern wins. */
export const ROUTES: RouteDefinition[] = [
  { path: "/", render: () => <OverviewPage /> },
  { path: "/overview", nav: "Overview", render: () => <OverviewPage /> },
  { path: "/precheck", nav: "Precheck", render: () => <PrecheckPage /> },
  { path: "/workloads", nav: "Workloads", render: () => <WorkloadsPage /> },
  { path: "/upgrades", nav: "Upgrades", render: () => <UpgradesPage /> },
  { path: "/upgrades/new", render: () => <StartUpgradePage /> },
  { path: "/upgrades/:name", render: (p) => <UpgradeDetailPage name={p.name} /> },
];

function LiveIndicator() {
  const status = useObservable(live.status);
  const text = {
    idle: "offline",
    connecting: "connecting…",
    live: "live",
    reconnecting: "reconnecting…",
    ended: "stopped",
  }[status];
  return (
    <span className={`live live-${status}`} data-testid="live-status" data-status={status}>
      <span className="live-dot" /> {text}
    </span>
  );
}

function NavBar({ pathname }: { pathname: string }) {
  const info = useObservable(session);
  return (
    <header className="nav">
      <Link to="/overview" className="brand">
        mesh<b>lift</b>
      </Link>
      <nav>
        {ROUTES.filter((r) => r.nav).map((r) => (
          <Link
            key={r.path}
            to={r.path}
            className={
              pathname === r.path || pathname.startsWith(`${r.path}/`) || (r.path === "/overview" && pathname === "/")
                ? "active"
                : ""
            }
          >
            {r.nav}
          </Link>
        ))}
      </nav>
      <div className="nav-right">
        <LiveIndicator />
        <span className="user" data-testid="user">
          {info?.user.username ?? "signed in"}
        </span>
        <button type="button" className="btn btn-quiet" data-testid="logout" onClick={() => void logout()}>
          Log out
        </button>
      </div>
    </header>
  );
}

function EndedBanner() {
  const reason = useObservable(live.endedReason);
  if (!reason) return null;
  return (
    <div className="error-box page-banner" role="alert" data-testid="live-ended">
      Live updates stopped: {reason}
    </div>
  );
}

export function App() {
  const info = useObservable(session);
  const { pathname } = useLocation();

  useEffect(() => {
    void restoreSession();
  }, []);

  useEffect(() => {
    if (info && pathname === "/login") navigate("/overview", { replace: true });
  }, [info, pathname]);

  if (info === undefined) return <div className="splash">meshlift…</div>;
  if (info === null) return <LoginPage />;
  const match = matchRoute(ROUTES, pathname);
  return (
    <div className="app">
      <NavBar pathname={pathname} />
      <main>
        <EndedBanner />
        {match ? (
          match.route.render(match.params)
        ) : (
          <div className="page">
            <h1>Not found</h1>
            <p>
              No page at <code>{pathname}</code>. <Link to="/overview">Go to the overview</Link>.
            </p>
          </div>
        )}
      </main>
    </div>
  );
}
