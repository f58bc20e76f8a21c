import ArgumentParser

/// The `s2m3` command line: one executable for every role and tool.
@main
struct S2M3Command: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "s2m3",
        abstract: "Split-and-share multi-modal inference across edge devices over MQTT.",
        subcommands: [UpCommand.self, ServeCommand.self, AggregatorCommand.self, RequestCommand.self, PlanCommand.self, BenchCommand.self, BusProbeCommand.self, PlannerCommand.self, DeviceAnnounceCommand.self, CatalogCommand.self, ProbeModuleCommand.self, RunCommand.self, DeviceCommand.self, DemoCommand.self, StatusCommand.self, CameraCommand.self, MicCommand.self, WatchCommand.self]
    )
}
