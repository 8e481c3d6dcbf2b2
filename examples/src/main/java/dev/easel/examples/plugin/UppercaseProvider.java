package dev.easel.examples.plugin;

import dev.easel.BadRequestException;
import dev.easel.ImageData;
import dev.easel.ImageEditStream;
import dev.easel.ImageResponse;
import dev.easel.provider.EditCall;
import dev.easel.provider.ImageEditProvider;
import dev.easel.provider.ProviderContext;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Base64;
import java.util.Locale;

/**
 * {@code uppercase/<model>}: the smallest real provider, to show how one plugs into Easel. It "edits" offline: the
 * answer is the first input image, unchanged, with the prompt shouted back as its {@code revised_prompt}. Everything
 * else (validation against its catalogue entry, {@code n} fanned out to one image per call, retries, fallbacks,
 * cost, logs) is Easel's, as for any provider. A provider that calls an HTTP API would use
 * {@link ProviderContext#transport()} instead of building its own client.
 */
final class UppercaseProvider implements ImageEditProvider {

    private final ProviderContext context;

    UppercaseProvider(ProviderContext context) {
        this.context = context;
    }

    @Override
    public String name() {
        return UppercaseProviderFactory.PREFIX;
    }

    @Override
    public ImageResponse edit(EditCall call) {
        byte[] image;
        try (InputStream in = call.images().get(0).blob().open()) {
            image = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // the catalogue says one image per call: Easel has already split a larger n into parallel calls
        int n = call.params().n().orElse(1);
        if (n != 1) {
            throw new BadRequestException("uppercase makes one image per call (n was " + n + ")", "invalid_value",
                    "n");
        }
        String shouted = call.prompt().toUpperCase(Locale.ROOT);
        return ImageResponse.builder()
                .created(context.clock().instant().getEpochSecond())
                .provider(name()).model(call.deployment().model())
                .addData(ImageData.of(null, Base64.getEncoder().encodeToString(image), shouted))
                .build();
    }

    @Override
    public ImageEditStream editStream(EditCall call) {
        throw new BadRequestException("uppercase does not stream", "unsupported_parameter", "stream");
    }
}
