import Foundation
import S2M3Core

/// What each device may receive, kept in step with the plan through Mosquitto's dynamic-security
/// plugin: device `d` holds a role `s2m3-invoke-d` (made by broker-config/make-credentials.sh, above
/// its base role that denies every invocation topic of `d`) with one `publishClientReceive` allow
/// per module the plan gives it. Pure logic: which commands bring the roles to a target, and what
/// the plugin's answers say is granted now. ``PlannerService`` sends them (docs/security.md).
struct PlanAccess {
    let topics: Topics
    /// Device → modules whose invocations it may receive, as far as the plugin has confirmed.
    /// A device is absent until its role has been read (``readCommands(for:)``).
    private(set) var granted: [String: Set<String>] = [:]
    /// Devices whose role the plugin does not know (not a dynamic-security client): left alone.
    private(set) var unmanaged: Set<String> = []

    init(topics: Topics) {
        self.topics = topics
    }

    static func role(of device: String) -> String { "s2m3-invoke-\(device)" }

    /// Device → the modules it hosts in `plan`; every device of the plan has an entry.
    static func hosted(by plan: PlanMessage) -> [String: Set<String>] {
        var hosted = Dictionary(uniqueKeysWithValues: plan.devices.map { ($0, Set<String>()) })
        for (module, devices) in plan.placement {
            for device in devices { hosted[device, default: []].insert(module) }
        }
        return hosted
    }

    /// The grants to make before a plan is published: what devices hold now plus what the plan
    /// gives them, so a device may receive a moved module's invocations before it is told to host
    /// it, and the old host keeps receiving until the plan has moved the traffic.
    func widened(_ target: [String: Set<String>]) -> [String: Set<String>] {
        target.mapValues { $0 }.merging(granted) { $0.union($1) }.filter { target[$0.key] != nil }
    }

    /// The grants to make once the plan is published: exactly the plan's, and nothing for the
    /// devices that left it.
    func narrowed(_ target: [String: Set<String>]) -> [String: Set<String>] {
        target.merging(granted.filter { target[$0.key] == nil }.mapValues { _ in [] }) { kept, _ in kept }
    }

    /// Whether every device of `target` has known grants (or is not managed).
    func knows(_ target: [String: Set<String>]) -> Bool {
        target.keys.allSatisfy { granted[$0] != nil || unmanaged.contains($0) }
    }

    /// `getRole` for the devices of `target` whose grants are not known yet.
    func readCommands(for target: [String: Set<String>]) -> [DynamicSecurityCommand] {
        target.keys.filter { granted[$0] == nil && !unmanaged.contains($0) }.sorted()
            .map { DynamicSecurityCommand(command: "getRole", rolename: Self.role(of: $0)) }
    }

    /// Learns from the answers to ``readCommands(for:)`` (in the same order).
    mutating func learn(_ commands: [DynamicSecurityCommand], _ responses: [DynamicSecurityResponse]) -> [String] {
        var problems: [String] = []
        for (command, response) in zip(commands, responses) {
            guard let device = device(ofRole: command.rolename) else { continue }
            if let error = response.error {
                unmanaged.insert(device)
                problems.append("\(device): \(error)")
                continue
            }
            granted[device] = Set((response.data?.role?.acls ?? []).compactMap { acl in
                acl.acltype == "publishClientReceive" && acl.allow == true
                    ? topics.invocation(fromInvokeTopic: acl.topic).flatMap { $0.device == device ? $0.module : nil } : nil
            })
        }
        return problems
    }

    /// `addRoleACL` / `removeRoleACL` that bring every known device of `target` to its modules.
    /// Each change disconnects the device (Mosquitto 2.0.11 kicks a role's clients, without
    /// their will), so only devices whose grants change get commands.
    func changeCommands(to target: [String: Set<String>]) -> [DynamicSecurityCommand] {
        var commands: [DynamicSecurityCommand] = []
        for (device, modules) in target.sorted(by: { $0.key < $1.key }) {
            guard let now = granted[device] else { continue }
            for module in now.subtracting(modules).sorted() {
                commands.append(DynamicSecurityCommand(
                    command: "removeRoleACL", rolename: Self.role(of: device), acltype: "publishClientReceive",
                    topic: topics.moduleInvoke(module: module, device: device)))
            }
            for module in modules.subtracting(now).sorted() {
                commands.append(DynamicSecurityCommand(
                    command: "addRoleACL", rolename: Self.role(of: device), acltype: "publishClientReceive",
                    topic: topics.moduleInvoke(module: module, device: device), priority: 0, allow: true))
            }
        }
        return commands
    }

    /// Records the answers to ``changeCommands(to:)``: a change the plugin confirmed is granted; a
    /// device with a refused change is read again next time.
    mutating func applied(_ commands: [DynamicSecurityCommand], _ responses: [DynamicSecurityResponse]) -> [String] {
        var problems: [String] = []
        for (command, response) in zip(commands, responses) {
            guard let topic = command.topic, let target = topics.invocation(fromInvokeTopic: topic) else { continue }
            if let error = response.error {
                granted[target.device] = nil
                problems.append("\(command.command) \(topic): \(error)")
            } else if command.command == "addRoleACL" {
                granted[target.device]?.insert(target.module)
            } else {
                granted[target.device]?.remove(target.module)
            }
        }
        return problems
    }

    /// Forget everything (the broker may have restarted with other rules): read the roles again.
    mutating func forget() {
        granted = [:]
        unmanaged = []
    }

    private func device(ofRole role: String) -> String? {
        let prefix = Self.role(of: "")
        return role.hasPrefix(prefix) ? String(role.dropFirst(prefix.count)) : nil
    }
}

/// One command to the dynamic-security plugin (the fields its `v1` API takes; nil fields omitted).
struct DynamicSecurityCommand: Encodable, Equatable {
    var command: String
    var rolename: String
    var acltype: String?
    var topic: String?
    var priority: Int?
    var allow: Bool?
    var correlationData: String?
}

/// One answer of the plugin: `error` is set when the command failed; `getRole` answers with the role.
struct DynamicSecurityResponse: Decodable {
    struct ACL: Decodable {
        var acltype: String
        var topic: String
        var allow: Bool?
    }
    struct Role: Decodable { var acls: [ACL]? }
    struct RoleData: Decodable { var role: Role? }

    var command: String?
    var error: String?
    var correlationData: String?
    var data: RoleData?
}

/// The plugin's message on ``Topics/dynamicSecurityResponses``.
struct DynamicSecurityResponses: Decodable {
    var responses: [DynamicSecurityResponse]
}
