import Catalog
import S2M3Core

/// A batchable module (``Catalog/ModuleManifest/isBatchable``) shared by concurrent callers in
/// one process (`s2m3 serve`): up to `concurrency` runs go at once (one per inference thread, as
/// unbatched calls would); calls that arrive while all of them are going wait, and the next free
/// run takes up to `maxBatch` of them at once, their inputs joined along the batch dimension and
/// the outputs split back (``InvocationBatch``). A call that finds a run free starts at once:
/// nothing waits for a batch to fill. Calls whose inputs cannot join the oldest waiting one run in a later
/// batch; a batch whose outputs cannot be split fails each of its calls with the reason.
public actor BatchingModule: LoadedModule {
    public nonisolated let manifest: ModuleManifest
    let module: any LoadedModule
    let maxBatch: Int
    let concurrency: Int
    private let names: [String]
    private var waiting: [(inputs: TensorBundle, reply: CheckedContinuation<Result<TensorBundle, ModuleError>, Never>)] = []
    private var running = 0
    /// Model runs so far and the calls they answered (batched runs answer several).
    public private(set) var runs = 0
    public private(set) var calls = 0

    public init(_ module: any LoadedModule, maxBatch: Int, concurrency: Int = 1) {
        manifest = module.manifest
        self.module = module
        self.maxBatch = max(1, maxBatch)
        self.concurrency = max(1, concurrency)
        names = module.manifest.callInputs.map(\.name)
    }

    public func run(_ inputs: TensorBundle) async throws(ModuleError) -> TensorBundle {
        let result = await withCheckedContinuation { reply in
            waiting.append((inputs, reply))
            // A drain loop lives only while calls wait, and each call it serves awaits its own
            // continuation here, so nothing it does goes unobserved.
            if running < concurrency {
                running += 1
                Task { await self.drain() }
            }
        }
        return try result.get()
    }

    public func warmUp() async throws(ModuleError) {
        try await module.warmUp()
    }

    /// Runs batches until nothing waits (one of up to `concurrency` such loops).
    private func drain() async {
        while let lead = waiting.first {
            var members = [waiting.removeFirst()]
            var index = 0
            while members.count < maxBatch, index < waiting.count {
                if InvocationBatch.fits(waiting[index].inputs, with: lead.inputs, names: names) {
                    members.append(waiting.remove(at: index))
                } else {
                    index += 1
                }
            }
            let results = await runOnce(members.map(\.inputs))
            runs += 1
            calls += members.count
            for (member, result) in zip(members, results) { member.reply.resume(returning: result) }
        }
        running -= 1
    }

    /// One model run for `inputs` (joined when there are several), one result per input.
    private func runOnce(_ inputs: [TensorBundle]) async -> [Result<TensorBundle, ModuleError>] {
        let module = module
        guard inputs.count > 1, let (joined, batch) = InvocationBatch.join(inputs, names: names) else {
            var results: [Result<TensorBundle, ModuleError>] = []
            for input in inputs { results.append(await captureResult { () async throws(ModuleError) -> TensorBundle in try await module.run(input) }) }
            return results
        }
        switch await captureResult({ () async throws(ModuleError) -> TensorBundle in try await module.run(joined) }) {
        case .failure(let error):
            return inputs.map { _ in .failure(error) }
        case .success(let outputs):
            do throws(InvocationBatchError) {
                return try batch.split(outputs).map { .success($0) }
            } catch {
                let failure = ModuleError(.runFailed, module: manifest.id, "a batch of \(inputs.count) could not be split: \(error.description)")
                return inputs.map { _ in .failure(failure) }
            }
        }
    }
}
