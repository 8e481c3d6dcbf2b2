package dev.easel.provider.azure;

import dev.easel.provider.ProviderContract;

/** The Azure OpenAI adapter keeps the provider contract against the testkit's fake Azure route. */
class AzureContractTest extends ProviderContract {

    @Override
    protected Fixture start() {
        return dev.easel.provider.openai.OpenAiContractFixtures.fakeOpenAi(true);
    }
}
