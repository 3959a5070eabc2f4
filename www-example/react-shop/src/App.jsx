import { useEffect, useState } from "react";
import { CartProvider, useCart } from "cartsync/react";

const API = "/api/v1";
const USER_KEY = "react-shop:user";
const money = (m) => (m ? new Intl.NumberFormat("en", { style: "currency", currency: m.currency }).format(m.amount / 100) : "…");

export function App() {
  return (
    <CartProvider endpoint={API}>
      <Probe />
      <Header />
      <main>
        <Products />
        <Bag />
      </main>
    </CartProvider>
  );
}

/** Counts mounts: StrictMode in development mounts twice (the test checks). */
function Probe() {
  useEffect(() => {
    window.__cartsyncProbe.mounts += 1;
  }, []);
  return null;
}

function Header() {
  const { status, pending, ready } = useCart();
  return (
    <header>
      <h1>React shop</h1>
      <span data-testid="sync-status" data-status={status} data-pending={pending} data-ready={ready}>
        {status}
        {pending > 0 && ` · ${pending} pending`}
      </span>
      <Account />
    </header>
  );
}

function Account() {
  const { login, logout, ready } = useCart();
  const [user, setUser] = useState(() => localStorage.getItem(USER_KEY));
  const [name, setName] = useState("");
  const [report, setReport] = useState(null);
  const [error, setError] = useState(null);

  async function signIn(e) {
    e.preventDefault();
    setError(null);
    try {
      const res = await fetch(`${API}/dev/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ user: name }),
      });
      const body = await res.json();
      if (!res.ok) throw new Error(body.message);
      setReport(await login(body.token));
      localStorage.setItem(USER_KEY, name);
      setUser(name);
    } catch (err) {
      setError(`${err.code ?? "error"}: ${err.message}`);
    }
  }

  async function signOut() {
    await logout();
    localStorage.removeItem(USER_KEY);
    setUser(null);
    setReport(null);
  }

  return (
    <div className="account">
      {user ? (
        <>
          <span data-testid="account-name">{user}</span>
          <button data-testid="sign-out" onClick={signOut}>Sign out</button>
        </>
      ) : (
        <form onSubmit={signIn}>
          <input data-testid="login-user" placeholder="name" value={name} onChange={(e) => setName(e.target.value)} required />
          <button data-testid="login-submit" disabled={!ready}>Sign in</button>
        </form>
      )}
      {error && <p role="alert" data-testid="login-error">{error}</p>}
      {report && <MergeReport report={report} onClose={() => setReport(null)} />}
    </div>
  );
}

function MergeReport({ report, onClose }) {
  return (
    <section data-testid="merge-report" className="report">
      <h2>Your bags were merged</h2>
      <ul>
        {report.summed.map((l) => (
          <li key={`s-${l.sku}`} data-testid={`merged-summed-${l.sku}`}>
            {l.sku}: {l.accountQuantity} in your account + {l.anonymousQuantity} from this visit = {l.quantity}
          </li>
        ))}
        {report.added.map((l) => (
          <li key={`a-${l.sku}`} data-testid={`merged-added-${l.sku}`}>
            {l.sku} × {l.quantity} added
          </li>
        ))}
      </ul>
      <button data-testid="merge-report-close" onClick={onClose}>OK</button>
    </section>
  );
}

function Products() {
  const { addItem, ready } = useCart();
  const [products, setProducts] = useState([]);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    fetch(`${API}/catalog`)
      .then((res) => (res.ok ? res.json() : Promise.reject(new Error(res.statusText))))
      .then((body) => setProducts(body.products), () => setFailed(true));
  }, []);
  return (
    <section className="products" data-testid="products" data-count={products.length}>
      {failed && <p role="alert">The catalog could not be loaded.</p>}
      {products.map((p) => (
        <article key={p.sku}>
          <h3>{p.name}</h3>
          <p>{money(p.price)}</p>
          <button data-testid={`add-${p.sku}`} disabled={!ready} onClick={() => addItem({ sku: p.sku, quantity: 1 })}>
            Add
          </button>
        </article>
      ))}
    </section>
  );
}

function Bag() {
  const { view, setQuantity, removeItem } = useCart();
  return (
    <aside className="bag">
      <h2>Bag</h2>
      {view.lines.length === 0 && <p data-testid="empty-bag">Your bag is empty.</p>}
      <ul data-testid="lines">
        {view.lines.map((l) => (
          <li key={l.sku} data-testid={`line-${l.sku}`} data-quantity={l.quantity}>
            {l.name ?? l.sku} × {l.quantity}{" "}
            <button aria-label="one less" onClick={() => setQuantity({ sku: l.sku, options: l.options, quantity: l.quantity - 1 })} disabled={l.quantity <= 1}>−</button>
            <button aria-label="one more" data-testid={`more-${l.sku}`} onClick={() => setQuantity({ sku: l.sku, options: l.options, quantity: l.quantity + 1 })}>+</button>
            <button data-testid={`remove-${l.sku}`} onClick={() => removeItem({ sku: l.sku, options: l.options })}>Remove</button>
          </li>
        ))}
      </ul>
      <p data-testid="total">Total: {money(view.totals?.estimatedTotal)}</p>
      {view.lines.length > 0 && <Delivery />}
      <Checkout />
    </aside>
  );
}

function Delivery() {
  const { view, setDestination, selectShipping } = useCart();
  const [country, setCountry] = useState(view.destination?.country ?? "DE");
  const [postal, setPostal] = useState(view.destination?.postalCode ?? "10115");
  return (
    <div className="delivery">
      <input aria-label="country" data-testid="destination-country" value={country} onChange={(e) => setCountry(e.target.value)} size={2} />
      <input aria-label="postal code" data-testid="destination-postal" value={postal} onChange={(e) => setPostal(e.target.value)} size={8} />
      <button data-testid="destination-save" onClick={() => setDestination({ country, postalCode: postal })}>Ship here</button>
      {view.destination &&
        view.shippingOptions.map((q) => (
          <label key={q.option} data-testid={`ship-${q.option}`} data-status={q.status}>
            <input type="radio" name="ship" checked={view.shippingOption === q.option} disabled={q.status !== "available"} onChange={() => selectShipping(q.option)} />
            {q.option} {q.price && money(q.price)}
          </label>
        ))}
    </div>
  );
}

function Checkout() {
  const { view, checkout, ready } = useCart();
  const [result, setResult] = useState(null);
  async function order() {
    try {
      setResult(await checkout());
    } catch (err) {
      setResult({ error: `${err.code}: ${err.message}` });
    }
  }
  return (
    <div className="checkout">
      <button data-testid="checkout" disabled={!ready || view.lines.length === 0 || !view.shippingOption} onClick={order}>
        Check out
      </button>
      {result?.order && (
        <p data-testid="order" data-order-id={result.order.id}>
          Order {result.order.id}: {result.order.status}, {money(result.order.totals.estimatedTotal)}
        </p>
      )}
      {result?.problems && (
        <ul data-testid="problems">
          {result.problems.map((p, i) => (
            <li key={i}>{p.type}</li>
          ))}
        </ul>
      )}
      {result?.error && <p role="alert" data-testid="checkout-error">{result.error}</p>}
    </div>
  );
}
