import Foundation
import TestSupport

/// How ``ComposeServicesTests`` maps what a container sees onto this machine (docker/README.md
/// repeats this table):
///
/// | in the container | here |
/// |---|---|
/// | the `s2m3` entry point (`/usr/local/bin/s2m3`, built in the image) | the `s2m3` of this build |
/// | `s2m3-health` (`/usr/local/bin`, from docker/s2m3-health.sh) | docker/s2m3-health.sh |
/// | `/opt/s2m3/catalog`, `/opt/s2m3/broker-config` (copied in the image; its working directory) | the repository's `catalog/`, `broker-config/` (tests run in the repository) |
/// | a bind mount `SOURCE:TARGET` of the service | `SOURCE` |
/// | the volume `s2m3-cache` (at `/cache`) | ``ComposeRun/volume``, whose `models/` links to `${S2M3_CACHE}/models` |
/// | the broker service's `NAME:PORT` (and `127.0.0.1:PORT` inside the broker) | the test broker's free loopback port |
/// | the image's `S2M3_CACHE=/cache` and the service's `environment` | the same variables, paths mapped, through `/usr/bin/env` |
/// | a compose secret at `/run/secrets/NAME` | the secret's file |
/// | anything under `docker/secrets/` (made by docker/make-secrets.sh) | the same under ``secretsFolder`` |
///
/// Every image path in the table is checked against docker/Dockerfile's own lines, so the mapping
/// cannot drift from the image silently. Not reproduced: read-only mounts, users, limits, networks.
struct ContainerMapping {
    let imagePaths: [(container: String, local: String)]
    let executables: [String: String]
    let volume: String
    /// Top-level compose secrets: name → file.
    var secrets: [String: String] = [:]
    /// Stands in for docker/secrets/ (the test's own credentials).
    var secretsFolder: String?

    static let dockerfileLines = [
        "COPY --from=build /out/bin/s2m3 /usr/local/bin/s2m3",
        "COPY docker/s2m3-health.sh /usr/local/bin/s2m3-health",
        "COPY catalog /opt/s2m3/catalog",
        "COPY broker-config /opt/s2m3/broker-config",
        "WORKDIR /opt/s2m3",
        "ENV S2M3_CACHE=/cache",
    ]

    init(run: ComposeRun) throws {
        let repository = TestPaths.repository.path
        let dockerfile = try String(contentsOfFile: repository + "/docker/Dockerfile", encoding: .utf8)
        for line in Self.dockerfileLines where !dockerfile.split(separator: "\n").contains(Substring(line)) {
            throw ClusterTestError("docker/Dockerfile no longer has '\(line)': update ContainerMapping")
        }
        imagePaths = [("/opt/s2m3/catalog", repository + "/catalog"), ("/opt/s2m3/broker-config", repository + "/broker-config")]
        executables = ["s2m3": try TestPaths.s2m3Executable, "s2m3-health": repository + "/docker/s2m3-health.sh"]
        volume = run.volume
    }

    /// `path` of `service`'s container, here.
    func path(_ path: String, mounts service: ComposeFile.Service) throws -> String {
        try redirected(containerPath(path, mounts: service))
    }

    /// A host path of the compose file, with docker/secrets/ replaced by ``secretsFolder``.
    func redirected(_ path: String) -> String {
        let folder = ComposeFile.directory.appendingPathComponent("secrets").path
        guard let secretsFolder, path.hasPrefix(folder + "/") else { return path }
        return secretsFolder + path.dropFirst(folder.count)
    }

    private func containerPath(_ path: String, mounts service: ComposeFile.Service) throws -> String {
        if path.hasPrefix("/run/secrets/") {
            let name = String(path.dropFirst("/run/secrets/".count))
            guard service.secrets.contains(name), let file = secrets[name] else {
                throw ClusterTestError("\(service.name): the secret \(name) is not given to it")
            }
            return file
        }
        var prefixes = imagePaths
        for volume in service.volumes {
            let parts = volume.split(separator: ":").map(String.init)
            guard parts.count >= 2 else { continue }
            if parts[0].hasPrefix("/") { prefixes.append((parts[1], parts[0])) }
            if parts[0] == "s2m3-cache" { prefixes.append((parts[1], self.volume)) }
        }
        // The image's own /cache (an empty folder where no volume is mounted) holds nothing a
        // service reads; it maps to the volume's stand-in too.
        if !prefixes.contains(where: { $0.container == "/cache" }) { prefixes.append(("/cache", volume)) }
        for (container, local) in prefixes.sorted(by: { $0.container.count > $1.container.count })
        where path == container || path.hasPrefix(container + "/") {
            return local + path.dropFirst(container.count)
        }
        throw ClusterTestError("\(service.name): no mapping for the container path \(path)")
    }

    /// One argument: a broker address becomes the local one, a container path a local path.
    func argument(_ argument: String, of service: ComposeFile.Service, broker: String, brokerAddresses: [String]) -> String {
        if brokerAddresses.contains(argument) { return broker }
        if argument.hasPrefix("/"), let mapped = try? path(argument, mounts: service) { return mapped }
        return argument
    }

    /// The service's entry point and command, mapped: `/usr/bin/env VAR=… executable arguments…`.
    /// Services share this host's ports, unlike containers: `metricsPort` replaces the value of a
    /// `--metrics-port` (and the endpoint listens on loopback).
    func commandLine(
        _ service: ComposeFile.Service, broker: String, brokerAddresses: [String], metricsPort: Int? = nil
    ) throws -> (String, [String]) {
        let full = service.entrypoint + service.command
        guard let name = full.first, let executable = executables[name] else {
            throw ClusterTestError("\(service.name): no local executable for '\(full.first ?? "")'")
        }
        let variables = service.environment.merging(["S2M3_CACHE": "/cache"]) { given, _ in given }
        let environment = try variables.sorted { $0.key < $1.key }.map { key, value in
            "\(key)=" + (value.hasPrefix("/") ? try path(value, mounts: service) : value)
        }
        var arguments = full.dropFirst().map { argument($0, of: service, broker: broker, brokerAddresses: brokerAddresses) }
        if let metricsPort, let flag = arguments.firstIndex(of: "--metrics-port"), flag + 1 < arguments.count {
            arguments[flag + 1] = String(metricsPort)
            arguments += ["--metrics-host", "127.0.0.1"]
        }
        return ("/usr/bin/env", environment + [executable] + arguments)
    }

    /// The service's health check (or `test`), mapped.
    func healthCheck(
        _ service: ComposeFile.Service, test: [String]? = nil, broker: String, brokerAddresses: [String]
    ) throws -> (String, [String]) {
        let command = test ?? service.healthcheck
        guard let name = command.first, let executable = executables[name] else {
            throw ClusterTestError("\(service.name): no local executable for the health check '\(command.first ?? "")'")
        }
        return (executable, command.dropFirst().map { argument($0, of: service, broker: broker, brokerAddresses: brokerAddresses) })
    }

    /// The port of the first `listener` line of a Mosquitto config.
    static func listenerPort(_ config: String) throws -> Int {
        let lines = try String(contentsOfFile: config, encoding: .utf8).split(separator: "\n")
        guard let line = lines.first(where: { $0.hasPrefix("listener ") }),
              let port = Int(line.split(separator: " ")[1]) else { throw ClusterTestError("\(config) has no listener") }
        return port
    }
}
