import Foundation
import LocalBroker
import TestSupport

/// docker/compose.yaml as `docker-compose config` renders it (Debian's docker-compose, which needs
/// no Docker engine for `config`), turned from YAML into JSON by Debian's python3 with PyYAML and
/// read with Foundation.
struct ComposeFile {
    struct Service {
        let name: String
        let profiles: [String]
        let entrypoint: [String]
        let command: [String]
        /// The health check's command without its leading `CMD`.
        let healthcheck: [String]
        /// `source:target[:mode]` as rendered (bind mounts with absolute sources; named volumes by name).
        let volumes: [String]
        let environment: [String: String]
        let secrets: [String]
        let memLimit: String?
        let memswapLimit: String?
        let restart: String?

        /// Enabled when none of its profiles is needed or one of them is active (Compose's rule).
        func isEnabled(profiles active: [String]) -> Bool {
            profiles.isEmpty || profiles.contains { active.contains($0) }
        }

        /// A bind mount's or volume's source for the container path `target`.
        func mountSource(of target: String) -> String? {
            volumes.lazy.map { $0.split(separator: ":").map(String.init) }
                .first { $0.count >= 2 && $0[1] == target }?.first
        }
    }

    let services: [String: Service]
    /// Top-level `secrets`: name → its file (absolute, as rendered).
    let secrets: [String: String]

    static let directory = TestPaths.repository.appendingPathComponent("docker")
    static let path = directory.appendingPathComponent("compose.yaml").path

    /// The profiles `docker compose` enables with no `--profile`: `COMPOSE_PROFILES` of docker/.env.
    static func defaultProfiles() throws -> [String] {
        let text = try String(contentsOf: directory.appendingPathComponent(".env"), encoding: .utf8)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("COMPOSE_PROFILES=") }) else {
            throw ClusterTestError("docker/.env sets no COMPOSE_PROFILES")
        }
        return line.dropFirst("COMPOSE_PROFILES=".count).split(separator: ",").map(String.init)
    }

    /// Runs `docker-compose [--profile P] config`; the exit status, its output and its errors.
    static func render(profile: String? = nil) async throws -> (status: Int32?, output: String, errors: String) {
        let arguments = ["-f", path] + (profile.map { ["--profile", $0] } ?? []) + ["config"]
        return try await Tool.run(try Tool.find("docker-compose"), arguments)
    }

    /// The rendered file, read.
    static func load(profile: String? = nil) async throws -> ComposeFile {
        let rendered = try await render(profile: profile)
        guard rendered.status == 0 else { throw ClusterTestError("docker-compose config failed: \(rendered.errors)") }
        let file = NSTemporaryDirectory() + "s2m3-compose-\(UUID().uuidString.prefix(8)).yaml"
        try Data(rendered.output.utf8).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        // Debian's python3 (python3-yaml), not whatever python3 comes first on PATH.
        let script = "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)"
        let json = try await Tool.run("/usr/bin/python3", ["-c", script, file])
        guard json.status == 0, let object = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any],
              let services = object["services"] as? [String: [String: Any]]
        else { throw ClusterTestError("cannot read the rendered compose file as YAML (python3-yaml installed?): \(json.errors)") }
        let secrets = (object["secrets"] as? [String: [String: Any]])?.compactMapValues { $0["file"] as? String } ?? [:]
        return ComposeFile(
            services: services.reduce(into: [:]) { all, entry in all[entry.key] = Service(name: entry.key, entry.value) },
            secrets: secrets)
    }
}

extension ComposeFile.Service {
    /// `service` with other secrets (a test's variation).
    init(copying service: Self, secrets: [String]) {
        self.init(
            name: service.name, profiles: service.profiles, entrypoint: service.entrypoint, command: service.command,
            healthcheck: service.healthcheck, volumes: service.volumes, environment: service.environment, secrets: secrets,
            memLimit: service.memLimit, memswapLimit: service.memswapLimit, restart: service.restart)
    }

    init(name: String, _ object: [String: Any]) {
        func strings(_ value: Any?) -> [String] {
            if let list = value as? [Any] { return list.map { "\($0)" } }
            if let text = value as? String { return [text] }
            return []
        }
        self.name = name
        profiles = strings(object["profiles"])
        entrypoint = strings(object["entrypoint"])
        command = strings(object["command"])
        let test = strings((object["healthcheck"] as? [String: Any])?["test"])
        healthcheck = test.first == "CMD" ? Array(test.dropFirst()) : test
        volumes = strings(object["volumes"])
        environment = (object["environment"] as? [String: Any])?.mapValues { "\($0)" } ?? [:]
        secrets = (object["secrets"] as? [Any])?.compactMap { ($0 as? [String: Any])?["source"] as? String ?? $0 as? String } ?? []
        memLimit = object["mem_limit"].map { "\($0)" }
        memswapLimit = object["memswap_limit"].map { "\($0)" }
        restart = object["restart"] as? String
    }
}

/// Command-line tools the docker/ tests run.
enum Tool {
    /// `name` on PATH (or /usr/bin, /usr/sbin), or an error saying the set-up installs it.
    static func find(_ name: String, alsoIn extra: [String] = []) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        for folder in extra + path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/sbin"] {
            let candidate = (folder as NSString).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw ClusterTestError("\(name) not found: run scripts/setup.sh, which installs it")
    }

    /// Runs `executable arguments…` to its end; the exit status, standard output and standard error.
    static func run(_ executable: String, _ arguments: [String]) async throws -> (status: Int32?, output: String, errors: String) {
        let errors = NSTemporaryDirectory() + "s2m3-tool-\(UUID().uuidString.prefix(8)).err"
        defer { try? FileManager.default.removeItem(atPath: errors) }
        let process = try ChildProcess.spawn(executable, arguments, stdout: .pipe, stderr: .appendToFile(errors))
        var output: [String] = []
        for await line in process.outputLines() { output.append(line) }
        let status = await process.waitUntilExit()
        let errorText = FileManager.default.contents(atPath: errors).map { String(decoding: $0, as: UTF8.self) } ?? ""
        return (status, output.joined(separator: "\n"), errorText)
    }
}
