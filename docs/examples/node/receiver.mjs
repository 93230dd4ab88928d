// A webhook receiver that checks Kohort's Standard Webhooks signature before trusting a
// delivery. Run it with the endpoint's secret:
//   (cd docs/examples/node && npm ci) && WEBHOOK_SECRET=whsec_… PORT=4243 node docs/examples/node/receiver.mjs
// It prints one line per verified event and answers 204; a bad signature gets 400.
import { createServer } from "node:http";
import { Webhook } from "standardwebhooks";

const webhook = new Webhook(process.env.WEBHOOK_SECRET.replace(/^whsec_/, ""));
const seen = new Set();

createServer((request, response) => {
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", () => {
    let event;
    try {
      event = webhook.verify(Buffer.concat(chunks).toString("utf8"), request.headers);
    } catch {
      response.writeHead(400).end();
      return;
    }
    const delivery = request.headers["webhook-id"];
    if (!seen.has(delivery)) { // a retry of a delivery carries the same webhook-id
      seen.add(delivery);
      console.log(`node verified ${event.type} ${event.data.id}`);
    }
    response.writeHead(204).end();
  });
}).listen(Number(process.env.PORT ?? 4243), "127.0.0.1");
