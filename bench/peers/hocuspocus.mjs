// Start @hocuspocus/server for bench/fanout.py --server hocuspocus.
// Usage: node hocuspocus.mjs [port]   (listens on 127.0.0.1 only; in-memory, no extensions)
import { Server } from "@hocuspocus/server";

const port = Number(process.argv[2] || process.env.PORT || 1235);
const server = new Server({ port, address: "127.0.0.1", quiet: true });
await server.listen();
console.log(`hocuspocus listening on 127.0.0.1:${port}`);
