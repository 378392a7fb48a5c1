package dev.isekai.mongowire;

import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import java.util.List;

/**
 * In-memory MongoDB wire server for tests. Usage: {@code java -jar mongo-wire.jar [host] [port]}
 * (default 127.0.0.1 47017). Prints one "listening" line when it accepts connections and stops
 * on SIGTERM. Nothing is persisted.
 */
public final class Main {
  private Main() {}

  /**
   * mongo-java-server's newest built-in version (MONGO_5_0) announces wire version 8, and the
   * Node.js driver 7 refuses servers below wire version 9 (MongoDB 4.4). We announce 4.4.
   */
  private static final MongoVersion ANNOUNCED =
      new MongoVersion() {
        @Override
        public List<Integer> getVersionArray() {
          return List.of(4, 4, 0);
        }

        @Override
        public int getWireVersion() {
          return 9;
        }
      };

  public static void main(String[] args) {
    String host = args.length > 0 ? args[0] : "127.0.0.1";
    int port = args.length > 1 ? Integer.parseInt(args[1]) : 47017;
    MemoryBackend backend = new MemoryBackend();
    backend.version(ANNOUNCED);
    // Change streams need the (in-memory) oplog; it costs one extra document per write.
    if (!"0".equals(System.getenv("MONGO_WIRE_OPLOG"))) {
      backend.enableOplog();
    }
    MongoServer server = new MongoServer(backend);
    try {
      server.bind(host, port);
    } catch (Exception e) { // BindException arrives unchecked (sneaky-thrown by Netty)
      // Netty's non-daemon threads would otherwise keep a server that listens nowhere alive.
      System.err.println("mongo-wire cannot listen on " + host + ":" + port + ": " + e);
      server.shutdownNow();
      System.exit(1);
    }
    Runtime.getRuntime().addShutdownHook(new Thread(server::shutdownNow, "mongo-wire-shutdown"));
    System.out.println("mongo-wire listening on " + host + ":" + port);
    System.out.flush();
  }
}
