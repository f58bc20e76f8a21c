/// The `s2m3.chain` metadata entry: the steps an invocation chains, as a JSON array, written with
/// ``JSONWriter`` and read with ``JSONReader`` (both on every chained invocation's path).
extension InvokeRequest {
    /// The steps as compact JSON, keys sorted: `[{"arguments":[{"tensor":…,"value":…}],"attempt":…,
    /// "module":…,"node":…,"returnsOutputs":…}]`.
    public static func chainText(_ steps: [Step]) -> String {
        var writer = JSONWriter(capacity: 96 * steps.count)
        writer.beginArray()
        for step in steps {
            writer.beginObject()
            writer.key("arguments")
            writer.beginArray()
            for argument in step.arguments {
                writer.beginObject()
                writer.member("tensor", argument.tensor)
                writer.member("value", argument.value)
                writer.endObject()
            }
            writer.endArray()
            writer.member("attempt", step.attempt)
            writer.member("module", step.module)
            writer.member("node", step.node)
            writer.member("returnsOutputs", step.returnsOutputs)
            writer.endObject()
        }
        writer.endArray()
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    /// Reads `s2m3.chain`: a JSON array of at most ``maxChainSteps`` steps, each with a string
    /// `node` and `module`, a whole-number `attempt`, a boolean `returnsOutputs` and at most
    /// ``maxStepArguments`` `arguments` of string `value` and `tensor`. Other keys are skipped; a
    /// key given twice is refused.
    public static func chain(from text: String?) throws(MessageError) -> [Step] {
        guard let text else { return [] }
        let bytes = Array(text.utf8)
        var reader = JSONReader<JSONSyntaxError>(bytes, bytes.indices)
        do {
            return try reader.steps()
        } catch {
            throw MessageError(
                .invalidField, field: BundleMetadataKey.chain,
                "is not a JSON array of steps {node, module, attempt, returnsOutputs, arguments: [{value, tensor}]}: \(error.message)")
        }
    }
}

extension JSONReader<JSONSyntaxError> {
    mutating func steps() throws(JSONSyntaxError) -> [InvokeRequest.Step] {
        var steps: [InvokeRequest.Step] = []
        skipSpace()
        guard peek == UInt8(ascii: "[") else { throw syntax("'[' starting the steps") }
        try array { (reader: inout JSONReader) throws(JSONSyntaxError) in
            guard steps.count < InvokeRequest.maxChainSteps else {
                throw JSONSyntaxError("more than \(InvokeRequest.maxChainSteps) steps")
            }
            steps.append(try reader.step())
        }
        try expectEnd("the steps")
        return steps
    }

    private mutating func step() throws(JSONSyntaxError) -> InvokeRequest.Step {
        var node: String?, module: String?, attempt: Int?, returnsOutputs: Bool?
        var arguments: [InvokeRequest.Step.Argument]?
        var keys = Set<String>()
        skipSpace()
        guard peek == UInt8(ascii: "{") else { throw syntax("a step object") }
        try object { (reader: inout JSONReader, key: String) throws(JSONSyntaxError) in
            guard keys.insert(key).inserted else { throw JSONSyntaxError("a step gives '\(key)' twice") }
            reader.skipSpace()
            switch key {
            case "node": node = try reader.string()
            case "module": module = try reader.string()
            case "attempt":
                guard let number = try reader.wholeNumber() else { throw reader.syntax("a whole number for 'attempt'") }
                attempt = number
            case "returnsOutputs": returnsOutputs = try reader.bool()
            case "arguments": arguments = try reader.arguments()
            default: try reader.skipValue(depth: 1)
            }
        }
        guard let node, let module, let attempt, let returnsOutputs, let arguments else {
            let missing = [("node", node == nil), ("module", module == nil), ("attempt", attempt == nil),
                           ("returnsOutputs", returnsOutputs == nil), ("arguments", arguments == nil)].filter(\.1).map(\.0)
            throw JSONSyntaxError("a step is missing \(missing.joined(separator: ", "))")
        }
        return InvokeRequest.Step(node: node, module: module, attempt: attempt, returnsOutputs: returnsOutputs, arguments: arguments)
    }

    private mutating func arguments() throws(JSONSyntaxError) -> [InvokeRequest.Step.Argument] {
        var arguments: [InvokeRequest.Step.Argument] = []
        guard peek == UInt8(ascii: "[") else { throw syntax("an array of arguments") }
        try array { (reader: inout JSONReader) throws(JSONSyntaxError) in
            guard arguments.count < InvokeRequest.maxStepArguments else {
                throw JSONSyntaxError("a step has more than \(InvokeRequest.maxStepArguments) arguments")
            }
            var value: String?, tensor: String?
            var keys = Set<String>()
            reader.skipSpace()
            guard reader.peek == UInt8(ascii: "{") else { throw reader.syntax("an argument object") }
            try reader.object { (reader: inout JSONReader, key: String) throws(JSONSyntaxError) in
                guard keys.insert(key).inserted else { throw JSONSyntaxError("an argument gives '\(key)' twice") }
                reader.skipSpace()
                switch key {
                case "value": value = try reader.string()
                case "tensor": tensor = try reader.string()
                default: try reader.skipValue(depth: 2)
                }
            }
            guard let value, let tensor else { throw JSONSyntaxError("an argument needs a string value and tensor") }
            arguments.append(.init(value: value, tensor: tensor))
        }
        return arguments
    }
}
