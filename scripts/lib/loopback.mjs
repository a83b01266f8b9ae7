// Preload (`node --import`) that makes every server of the process listen on 127.0.0.1 only, and
// reports the port it got on stderr as `LISTENING <port>`. Used to run @modelcontextprotocol/
// server-everything, whose Express app would otherwise listen on every interface.
import net from "node:net";

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === "number" || (typeof args[0] === "string" && /^\d+$/.test(args[0]))) {
    const port = Number(args[0]);
    const rest = args.slice(1).filter((a) => typeof a === "function");
    args = [port, "127.0.0.1", ...rest];
  } else if (args[0] && typeof args[0] === "object" && !("fd" in args[0]) && !("path" in args[0])) {
    args[0] = { ...args[0], host: "127.0.0.1" };
  }
  this.once("listening", () => {
    const address = this.address();
    if (address && typeof address === "object") process.stderr.write(`LISTENING ${address.port}\n`);
  });
  return listen.apply(this, args);
};
