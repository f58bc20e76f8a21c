import ArgumentParser
import LocalBroker

/// The `s2m3` command line: one executable for every role and tool.
@main
struct S2M3Command: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "s2m3",
        abstract: "Split-and-share multi-modal inference across edge devices over MQTT.",
        subcommands: [UpCommand.self, ServeCommand.self, AggregatorCommand.self, RequestCommand.self, PlanCommand.self, BenchCommand.self, BusProbeCommand.self, PlannerCommand.self, DeviceAnnounceCommand.self, CatalogCommand.self, ProbeModuleCommand.self, RunCommand.self, DeviceCommand.self, DemoCommand.self, StatusCommand.self, CameraCommand.self, MicCommand.self, WatchCommand.self]
    )

    /// ArgumentParser's own `main`, after ``HeapTuning`` (message-sized buffers stay in the heap).
    static func main() async {
        HeapTuning.applyToThisProcess()
        do {
            var command = try parseAsRoot()
            if var command = command as? AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
