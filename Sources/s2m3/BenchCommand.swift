import ArgumentParser

/// `s2m3 bench …`: benchmarks (not tests). Each measures side by side in one run and writes or
/// prints its Markdown tables for docs/.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Run a benchmark and write or print its tables for docs/.",
        subcommands: [BenchBusCommand.self, BenchPlacementCommand.self, BenchModulesCommand.self, BenchClusterCommand.self, BenchOverloadCommand.self, BenchStreamsCommand.self, BenchMicCommand.self, BenchBatchCommand.self, BenchMessagesCommand.self]
    )
}
