package dev.easel.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class FakeStabilityTest {

    private final FakeStability fake = FakeStability.builder().apiKey("sk-stab").start();

    @AfterEach
    void stop() {
        fake.close();
    }

    private static byte[] png(int width, int height) {
        return Images.flat("png", width, height);
    }

    /** An image with an alpha channel, so inpaint and erase need no mask. */
    private static byte[] transparentPng(int width, int height) {
        java.awt.image.BufferedImage image = new java.awt.image.BufferedImage(width, height,
                java.awt.image.BufferedImage.TYPE_INT_ARGB);
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        try {
            javax.imageio.ImageIO.write(image, "png", out);
        } catch (java.io.IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private HttpResponse<byte[]> edit(String op, Form form, String accept) {
        HttpRequest.Builder request = Http.post(fake.editUrl(op), form, "Authorization", "Bearer sk-stab");
        if (accept != null) {
            request.header("accept", accept);
        }
        try {
            return Http.CLIENT.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
        } catch (java.io.IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static JsonNode json(HttpResponse<byte[]> response) {
        try {
            return Json.MAPPER.readTree(response.body());
        } catch (java.io.IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Asserts Stability's error shape and returns its errors. */
    private static JsonNode errors(HttpResponse<byte[]> response, int status, String name) {
        assertThat(response.statusCode()).isEqualTo(status);
        JsonNode body = json(response);
        assertThat(body.fieldNames()).toIterable().containsExactly("id", "name", "errors");
        assertThat(body.get("id").asText()).matches("[0-9a-f]{32}");
        assertThat(body.get("name").asText()).isEqualTo(name);
        return body.get("errors");
    }

    private static Form inpaint(byte[] image, byte[] mask) {
        Form form = new Form().text("prompt", "a red door").file("image", "image.png", "image/png", image);
        return mask == null ? form : form.file("mask", "mask.png", "image/png", mask);
    }

    // ---- success -------------------------------------------------------------------------------------------

    @Test
    void inpaint_acceptImage_rawBytesWithFinishReasonAndSeedHeaders() {
        HttpResponse<byte[]> response = edit("inpaint", inpaint(png(1024, 768), png(1024, 768)).text("seed", "123"),
                "image/*");

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type")).contains("image/png");
        assertThat(response.headers().firstValue("finish-reason")).contains("SUCCESS");
        assertThat(response.headers().firstValue("seed")).contains("123");
        assertThat(ImageInfo.of(response.body()).orElseThrow().dimensions()).isEqualTo("1024x768");
        RecordedRequest request = fake.takeRequest();
        assertThat(request.fieldNames()).containsExactly("prompt", "image", "mask", "seed");
        assertThat(request.header("accept")).contains("image/*");
    }

    @Test
    void erase_acceptJson_base64ImageFinishReasonAndSeed() {
        Form form = new Form().file("image", "a.png", "image/png", transparentPng(512, 512))
                .text("output_format", "webp");

        HttpResponse<byte[]> response = edit("erase", form, "application/json");

        JsonNode body = json(response);
        assertThat(body.fieldNames()).toIterable().containsExactly("image", "finish_reason", "seed");
        assertThat(body.get("finish_reason").asText()).isEqualTo("SUCCESS");
        assertThat(body.get("seed").asLong()).isBetween(1L, FakeStability.MAX_SEED);
        ImageInfo image = ImageInfo.of(Base64.getDecoder().decode(body.get("image").asText())).orElseThrow();
        assertThat(image.mediaType()).isEqualTo("image/webp");
        assertThat(image.dimensions()).isEqualTo("512x512");
    }

    @Test
    void noAcceptHeader_meansImageBytes() {
        HttpResponse<byte[]> response = edit("search-and-replace", new Form().text("prompt", "a cat")
                .text("search_prompt", "dog").file("image", "a.jpg", "image/jpeg", Images.flat("jpeg", 640, 480))
                .text("output_format", "jpeg"), null);

        assertThat(response.headers().firstValue("Content-Type")).contains("image/jpeg");
        assertThat(ImageInfo.of(response.body()).orElseThrow().mediaType()).isEqualTo("image/jpeg");
    }

    @Test
    void outpaint_growsTheCanvas_andRemoveBackgroundKeepsIt() {
        HttpResponse<byte[]> outpaint = edit("outpaint", new Form().file("image", "a.png", "image/png",
                png(512, 512)).text("left", "100").text("down", "200").text("creativity", "0.3"), "image/*");
        HttpResponse<byte[]> removed = edit("remove-background", new Form().file("image", "a.png", "image/png",
                png(640, 480)), "image/*");
        HttpResponse<byte[]> recolor = edit("search-and-recolor", new Form().text("prompt", "blue")
                .text("select_prompt", "car").file("image", "a.png", "image/png", png(640, 480))
                .text("grow_mask", "3").text("style_preset", "photographic"), "image/*");

        assertThat(ImageInfo.of(outpaint.body()).orElseThrow().dimensions()).isEqualTo("612x712");
        assertThat(ImageInfo.of(removed.body()).orElseThrow().dimensions()).isEqualTo("640x480");
        assertThat(recolor.statusCode()).isEqualTo(200);
    }

    // ---- rejections ----------------------------------------------------------------------------------------

    @Test
    void auth_missingOrWrongBearer_401Unauthorized() {
        HttpResponse<String> missing = Http.send(Http.post(fake.editUrl("inpaint"), inpaint(png(64, 64), null)));
        HttpResponse<String> wrong = Http.send(Http.post(fake.editUrl("inpaint"), inpaint(png(64, 64), null),
                "Authorization", "Bearer sk-other"));

        for (HttpResponse<String> response : java.util.List.of(missing, wrong)) {
            assertThat(response.statusCode()).isEqualTo(401);
            JsonNode body = Http.json(response);
            assertThat(body.get("name").asText()).isEqualTo("unauthorized");
            assertThat(body.get("errors").toString()).isEqualTo("[\"authorization: invalid or missing header value\"]");
        }
    }

    @Test
    void body_over10MiB_413PayloadTooLargeBeforeAuth() {
        byte[] big = new byte[FakeStability.MAX_REQUEST_BYTES];
        HttpResponse<String> response = Http.send(Http.post(fake.editUrl("inpaint"), new Form().text("prompt", "x")
                .file("image", "a.png", "image/png", big)));

        assertThat(response.statusCode()).isEqualTo(413);
        assertThat(Http.json(response).get("name").asText()).isEqualTo("payload_too_large");
        assertThat(Http.json(response).get("errors").get(0).asText())
                .isEqualTo("body: payloads cannot be larger than 10MiB in size");
    }

    @Test
    void notMultipartOrBadAccept_400BadRequest() {
        HttpResponse<String> json = Http.send(HttpRequest.newBuilder(URI.create(fake.editUrl("erase")))
                .header("Authorization", "Bearer sk-stab").header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{}")));
        HttpResponse<byte[]> accept = edit("erase", new Form().file("image", "a.png", "image/png",
                transparentPng(64, 64)), "image/png");

        assertThat(Http.json(json).get("errors").get(0).asText()).isEqualTo("content-type: must be "
                + "multipart/form-data (was application/json)");
        assertThat(errors(accept, 400, "bad_request").get(0).asText()).isEqualTo("accept: must be either image/* or "
                + "application/json (was image/png)");
    }

    @Test
    void requiredFieldsAndRanges_allErrorsAtOnce() {
        Form form = new Form().text("grow_mask", "101").text("seed", "4294967295").text("output_format", "gif")
                .text("style_preset", "watercolour").file("image", "a.png", "image/png", png(256, 256));

        JsonNode errors = errors(edit("inpaint", form, "image/*"), 400, "bad_request");

        assertThat(errors).extracting(JsonNode::asText).containsExactly(
                "prompt: is required",
                "grow_mask: must be between 0 and 100 (was 101)",
                "mask: is required when the image has no alpha channel",
                "style_preset: must be one of 3d-model, analog-film, anime, cinematic, comic-book, digital-art, "
                        + "enhance, fantasy-art, isometric, line-art, low-poly, modeling-compound, neon-punk, "
                        + "origami, photographic, pixel-art, tile-texture (was watercolour)",
                "seed: must be an integer between 0 and 4294967294 (was 4294967295)",
                "output_format: must be one of png, jpeg, webp (was gif)");
    }

    @Test
    void operationSpecificRules() {
        JsonNode erase = errors(edit("erase", new Form().file("image", "a.png", "image/png", transparentPng(64, 64))
                .text("grow_mask", "21"), "image/*"), 400, "bad_request");
        JsonNode outpaint = errors(edit("outpaint", new Form().file("image", "a.png", "image/png", png(64, 64))
                .text("up", "2001").text("creativity", "1.5"), "image/*"), 400, "bad_request");
        JsonNode nothing = errors(edit("outpaint", new Form().file("image", "a.png", "image/png", png(64, 64)),
                "image/*"), 400, "bad_request");
        JsonNode replace = errors(edit("search-and-replace", new Form().text("prompt", "x")
                .file("image", "a.png", "image/png", png(64, 64)), "image/*"), 400, "bad_request");
        JsonNode webp = errors(edit("remove-background", new Form().file("image", "a.png", "image/png",
                png(2049, 2049)).text("output_format", "jpeg"), "image/*"), 400, "bad_request");

        assertThat(erase.get(0).asText()).isEqualTo("grow_mask: must be between 0 and 20 (was 21)");
        assertThat(outpaint).extracting(JsonNode::asText).containsExactly(
                "creativity: must be between 0 and 1 (was 1.5)", "up: must be between 0 and 2000 (was 2001)");
        assertThat(nothing.get(0).asText()).isEqualTo("left, right, up, down: at least one must be greater than 0");
        assertThat(replace.get(0).asText()).isEqualTo("search_prompt: is required");
        assertThat(webp).extracting(JsonNode::asText).containsExactly(
                "image: total pixel count must be at most 4,194,304 for remove-background (was 4,198,401)",
                "output_format: must be one of png, webp (was jpeg)");
    }

    @Test
    void imageLimits_sidesPixelsAspectFormatAndMaskSize() {
        JsonNode small = errors(edit("erase", new Form().file("image", "a.png", "image/png", transparentPng(32, 200)),
                "image/*"), 400, "bad_request");
        JsonNode huge = errors(edit("erase", new Form().file("image", "a.png", "image/png", png(4000, 2400))
                .file("mask", "m.png", "image/png", png(4000, 2400)), "image/*"), 400, "bad_request");
        JsonNode wide = errors(edit("erase", new Form().file("image", "a.png", "image/png", png(1300, 500))
                .file("mask", "m.png", "image/png", png(1300, 500)), "image/*"), 400, "bad_request");
        JsonNode text = errors(edit("erase", new Form().file("image", "a.txt", "text/plain", "hi".getBytes()),
                "image/*"), 400, "bad_request");
        JsonNode mask = errors(edit("inpaint", inpaint(png(512, 512), png(256, 256)), "image/*"), 400, "bad_request");

        assertThat(small.get(0).asText()).isEqualTo("image: dimensions must be at least 64x64 pixels (was 32x200)");
        assertThat(huge.get(0).asText()).isEqualTo("image: total pixel count must be between 4,096 and 9,437,184 (was "
                + "9,600,000)");
        assertThat(wide.get(0).asText()).isEqualTo("image: aspect ratio must be between 1:2.5 and 2.5:1 (was "
                + "1300x500)");
        assertThat(text.get(0).asText()).isEqualTo("image: unsupported image format; supported formats are jpeg, "
                + "png, webp");
        assertThat(mask.get(0).asText()).isEqualTo("mask: dimensions must match the image (image 512x512, mask "
                + "256x256)");
    }

    @Test
    void unknownOperationOrPath_404NotFound() {
        HttpResponse<byte[]> response = edit("upscale", inpaint(png(64, 64), null), "image/*");

        assertThat(errors(response, 404, "not_found").get(0).asText()).startsWith("the requested resource was not "
                + "found: POST /v2beta/stable-image/edit/upscale");
    }

    // ---- relight: asynchronous -----------------------------------------------------------------------------

    @Test
    void relight_submitThenResults202InProgressThen200() throws Exception {
        try (FakeStability async = FakeStability.builder().pendingResults(2).start()) {
            HttpResponse<String> submitted = Http.send(Http.post(async.editUrl("replace-background-and-relight"),
                    new Form().file("subject_image", "s.png", "image/png", png(768, 512))
                            .text("background_prompt", "a beach").text("light_source_direction", "above")
                            .text("light_source_strength", "0.5"), "Authorization", "Bearer k"));
            String id = Http.json(submitted).get("id").asText();
            assertThat(id).matches("[0-9a-f]{64}");
            HttpRequest.Builder poll = HttpRequest.newBuilder(URI.create(async.baseUrl() + "/v2beta/results/" + id))
                    .header("Authorization", "Bearer k").header("accept", "*/*");

            HttpResponse<String> first = Http.send(poll);
            HttpResponse<String> second = Http.send(poll);
            HttpResponse<byte[]> done = Http.CLIENT.send(poll.build(), HttpResponse.BodyHandlers.ofByteArray());

            assertThat(first.statusCode()).isEqualTo(202);
            assertThat(first.body()).isEqualTo("{\"id\":\"" + id + "\",\"status\":\"in-progress\"}");
            assertThat(second.statusCode()).isEqualTo(202);
            assertThat(done.statusCode()).isEqualTo(200);
            assertThat(done.headers().firstValue("finish-reason")).contains("SUCCESS");
            assertThat(ImageInfo.of(done.body()).orElseThrow().dimensions()).isEqualTo("768x512");
            assertThat(async.resultPolls(id)).isEqualTo(3);
            HttpResponse<String> unknown = Http.send(HttpRequest.newBuilder(URI.create(async.baseUrl()
                    + "/v2beta/results/" + "0".repeat(64))).header("Authorization", "Bearer k"));
            assertThat(unknown.statusCode()).isEqualTo(404);
        }
    }

    @Test
    void relight_needsABackground() {
        JsonNode errors = errors(edit("replace-background-and-relight", new Form().file("subject_image", "s.png",
                "image/png", png(64, 64)).text("light_source_strength", "0.5"), "image/*"), 400, "bad_request");

        assertThat(errors).extracting(JsonNode::asText).containsExactly(
                "background_prompt: is required when no background_reference is given",
                "light_source_strength: requires light_source_direction or light_reference");
    }

    // ---- scripting -----------------------------------------------------------------------------------------

    @Test
    void contentFiltered_200WithTheFilteredFinishReasonInBothAcceptModes() {
        fake.enqueue(FakeStability.contentFiltered());
        fake.enqueue(FakeStability.contentFiltered());

        HttpResponse<byte[]> bytes = edit("inpaint", inpaint(png(64, 64), png(64, 64)), "image/*");
        HttpResponse<byte[]> json = edit("inpaint", inpaint(png(64, 64), png(64, 64)), "application/json");

        assertThat(bytes.statusCode()).isEqualTo(200);
        assertThat(bytes.headers().firstValue("finish-reason")).contains("CONTENT_FILTERED");
        assertThat(json(json).get("finish_reason").asText()).isEqualTo("CONTENT_FILTERED");
    }

    @Test
    void contentFiltered_stillValidates() {
        fake.enqueue(FakeStability.contentFiltered());

        assertThat(edit("inpaint", new Form().text("prompt", "x"), "image/*").statusCode()).isEqualTo(400);
    }

    @Test
    void scriptedErrors_stabilityShapesWithAFreshIdEachTime() {
        fake.enqueue(FakeStability.paymentRequired());
        fake.enqueue(FakeStability.contentModeration());
        fake.enqueue(FakeStability.invalidLanguage());
        fake.enqueue(FakeStability.rateLimited());
        fake.enqueue(FakeStability.internalError());
        fake.enqueue(FakeStability.internalError());

        Form form = inpaint(png(64, 64), png(64, 64));
        assertThat(errors(edit("inpaint", form, null), 402, "payment_required").get(0).asText())
                .startsWith("You lack sufficient credits");
        assertThat(errors(edit("inpaint", form, null), 403, "content_moderation").get(0).asText())
                .contains("flagged by our content moderation system");
        errors(edit("inpaint", form, null), 422, "invalid_language");
        errors(edit("inpaint", form, null), 429, "rate_limit_exceeded");
        String first = json(edit("inpaint", form, null)).get("id").asText();
        String second = json(edit("inpaint", form, null)).get("id").asText();
        assertThat(first).isNotEqualTo(second);
        assertThatThrownBy(() -> FakeStability.error(400, "bad_request")).hasMessage("errors must not be empty");
    }

    @Test
    void resetLatencyAndHold() throws Exception {
        fake.enqueue(FakeResponse.dropConnection());
        assertThatThrownBy(() -> edit("inpaint", inpaint(png(64, 64), png(64, 64)), null))
                .isInstanceOf(UncheckedIOException.class);
        fake.holdAnswers();
        CompletableFuture<HttpResponse<byte[]>> held = CompletableFuture.supplyAsync(() ->
                edit("inpaint", inpaint(png(64, 64), png(64, 64)), null));
        fake.takeRequest();
        fake.takeRequest();
        assertThat(held).isNotDone();

        fake.releaseAnswers();

        assertThat(held.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        fake.defaultLatency(Duration.ofSeconds(30));
        assertThatThrownBy(() -> Http.CLIENT.send(Http.post(fake.editUrl("inpaint"), inpaint(png(64, 64), png(64, 64)),
                "Authorization", "Bearer sk-stab").timeout(Duration.ofMillis(300)).build(),
                HttpResponse.BodyHandlers.ofString())).isInstanceOf(java.net.http.HttpTimeoutException.class);
    }
}
