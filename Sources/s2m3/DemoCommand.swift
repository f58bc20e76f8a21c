import ArgumentParser
import MQTTBus
import S2M3Core

/// `s2m3 demo`: sends the fixtures' photos, speech and page through every task of a running
/// cluster (`s2m3 up` prints the broker) and prints each result with its timeline.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Send real photos, speech and text through every task of a running cluster and print the results."
    )

    @OptionGroup var bus: BrokerOptions

    @Option(help: "Folder of the demo inputs (default: ${S2M3_CACHE:-.cache}/fixtures).")
    var fixtures: String?

    @Option(help: "Seconds to wait for each answer.")
    var timeout: Double = 30

    func run() async throws {
        guard timeout > 0, timeout <= 86_400 else { throw ValidationError("--timeout must be in (0, 86400] seconds") }
        let runner = DemoRunner(
            broker: try bus.configuration(), root: bus.topicRoot, fixtures: fixtures ?? DemoRunner.defaultFixtures,
            timeout: .milliseconds(Int(timeout * 1000)))
        guard await runner.run() else { throw ExitCode(1) }
    }
}
