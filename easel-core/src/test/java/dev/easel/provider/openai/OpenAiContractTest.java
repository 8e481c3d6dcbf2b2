package dev.easel.provider.openai;

import dev.easel.provider.ProviderContract;

/** The OpenAI adapter keeps the provider contract against the testkit's fake OpenAI. */
class OpenAiContractTest extends ProviderContract {

    @Override
    protected Fixture start() {
        return OpenAiContractFixtures.fakeOpenAi(false);
    }
}
