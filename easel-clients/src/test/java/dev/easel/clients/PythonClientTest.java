package dev.easel.clients;

/**
 * OpenAI's official Python SDK ({@code openai==3.22.1} from the package index pip is configured with, in a venv
 * under {@code target/clients/py}) against the proxy. Skipped, with pip's last line as the reason, where python3,
 * venv or the package cannot be had.
 */
class PythonClientTest extends OfficialClientContract {

    @Override
    ClientInstall.Outcome install() {
        return ClientInstall.python();
    }

    @Override
    String inMemoryUpstreamFileName() {
        return "upload.png";
    }

    @Override
    String exceptionFor(int status) {
        return switch (status) {
            case 400 -> "BadRequestError";
            case 401 -> "AuthenticationError";
            case 429 -> "RateLimitError";
            default -> status >= 500 ? "InternalServerError" : "APIStatusError";
        };
    }
}
