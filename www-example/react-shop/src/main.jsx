import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { CartClient } from "cartsync";
import { App } from "./App.jsx";
import "./style.css";

// What the end-to-end test reads: every CartClient.open and close in this
// page (the provider's client is the package's own CartClient, the same
// module as this import) and every mount of the provider's subtree.
const probe = (window.__cartsyncProbe = { opens: 0, closes: 0, mounts: 0 });
const open = CartClient.open;
CartClient.open = async (options) => {
  probe.opens += 1;
  const client = await open.call(CartClient, options);
  const close = client.close.bind(client);
  client.close = () => {
    probe.closes += 1;
    close();
  };
  return client;
};

createRoot(document.getElementById("root")).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
