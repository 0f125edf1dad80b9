/// The model families and objectives that ship with the toolkit, registered on the registries' first use. Each
/// is one file in Registered/; code outside the package calls `Registry.register` instead of editing this list.
enum BuiltInRegistrations {
    static let families: [any ModelFamily.Type] = [
        GPT2Family.self, LlamaFamily.self, BertFamily.self, AudioFramesFamily.self, AudioPatchesFamily.self, AudioWaveformFamily.self,
        FastSpeechFamily.self,
    ]

    static let objectives: [any ObjectiveDefinition.Type] = [
        CausalLMObjective.self, MaskedLMObjective.self, TERAObjective.self, SSASTObjective.self, BESTRQObjective.self,
        HuBERTObjective.self, BEATsTokenizerObjective.self, BEATsObjective.self, Wav2Vec2Objective.self, W2vBERTObjective.self, DistillObjective.self,
        PositionPredictionObjective.self, MERTObjective.self, FastSpeechObjective.self,
    ]
}
