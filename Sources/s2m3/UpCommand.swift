import ArgumentParser

/// `s2m3 up`: the embedded default, a local cluster on this machine.
struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Start a local cluster: a Mosquitto broker and the S2M3 services, until Ctrl-C."
    )

    func run() async throws {
        throw ValidationError("not implemented yet")
    }
}
