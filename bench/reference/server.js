// The reference: the classic Socket.IO tutorial chat (express + socket.io), with the room taken
// from the handshake query and an ack on every message, as the benchmark's Node baseline.
// Started by bench/loadgen; listens on 127.0.0.1:$PORT.
const express = require("express");
const { createServer } = require("node:http");
const { Server } = require("socket.io");

const app = express();
const server = createServer(app);
const io = new Server(server);

app.get("/health", (_req, res) => res.json({ status: "ok" }));

io.on("connection", (socket) => {
  const room = String(socket.handshake.query.room || "lobby");
  socket.join(room);
  socket.on("chat message", (msg, ack) => {
    io.to(room).emit("chat message", msg);
    if (typeof ack === "function") ack({ ok: true });
  });
});

server.listen(Number(process.env.PORT || 3000), "127.0.0.1", () => {
  console.log(`reference listening on ${server.address().port}`);
});
