import MQTTBus

/// Placeholder until S2M3Client (branch `aggregator`) is merged.
struct DemoRunner {
    let endpoint: MQTTEndpoint
    let root: String
    func run() async -> Bool {
        print("the demo needs S2M3Client (branch aggregator)")
        return false
    }
}
