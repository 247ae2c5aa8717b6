// The generated Kotlin bindings on the JVM, against the x86-64 cdylib
// (scripts/test-kotlin.sh compiles and runs this with kotlinc, JNA and
// -Djna.library.path).
//
//   RouterTestKt PROFILE EMBEDDINGS_NPY EXPECTED_TSV
//
// EXPECTED_TSV: "<cost preference>\t<JSON>" lines from `aurora route --json`
// (the Rust API), one per routed row. Every decision made here through the
// bindings must be the same, field for field.
package aurora.router.tests

import aurora.router.CactusEmbedder
import aurora.router.ChatMessage
import aurora.router.ModelPool
import aurora.router.RouteSession
import aurora.router.RouteSet
import aurora.router.Embedder
import aurora.router.RouteDecision
import aurora.router.RouteOptions
import aurora.router.Router
import aurora.router.RouterException
import aurora.router.version
import java.io.File
import java.nio.ByteBuffer
import java.nio.ByteOrder
import kotlin.concurrent.thread
import kotlin.system.exitProcess

var passed = 0
var failed = 0

fun check(name: String, ok: Boolean, detail: () -> String = { "" }) {
    if (ok) {
        passed++
    } else {
        failed++
        System.err.println("FAIL: $name ${detail()}")
    }
}

/** Runs [block], expecting it to throw [E]; returns the exception. */
inline fun <reified E : Throwable> expectThrows(name: String, block: () -> Unit): E? {
    try {
        block()
    } catch (e: Throwable) {
        check(name, e is E) { "threw ${e::class.qualifiedName}: ${e.message}" }
        return e as? E
    }
    check(name, false) { "did not throw" }
    return null
}

/** IEEE 754 half → float. */
fun halfToFloat(h: Int): Float {
    val sign = (h shr 15) and 1
    val exp = (h shr 10) and 0x1f
    val mant = h and 0x3ff
    val bits = when {
        exp == 0 && mant == 0 -> sign shl 31
        exp == 0 -> {
            // Subnormal: normalise.
            var e = -14
            var m = mant
            while (m and 0x400 == 0) {
                m = m shl 1
                e--
            }
            (sign shl 31) or ((e + 127) shl 23) or ((m and 0x3ff) shl 13)
        }
        exp == 0x1f -> (sign shl 31) or (0xff shl 23) or (mant shl 13)
        else -> (sign shl 31) or ((exp - 15 + 127) shl 23) or (mant shl 13)
    }
    return java.lang.Float.intBitsToFloat(bits)
}

/** A C-order little-endian float16 2-D .npy file. */
fun loadNpyF16(path: String): Array<FloatArray> {
    val bytes = File(path).readBytes()
    val buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN)
    require(bytes[0] == 0x93.toByte() && String(bytes, 1, 5) == "NUMPY") { "$path: not a .npy file" }
    val major = bytes[6].toInt()
    val (headerLen, start) = if (major == 1) buf.getShort(8).toInt() to 10 else buf.getInt(8) to 12
    val header = String(bytes, start, headerLen)
    require(header.contains("'descr': '<f2'") && header.contains("'fortran_order': False")) { header }
    val shape = Regex("""'shape': \((\d+), (\d+)\)""").find(header)!!.groupValues
    val (n, d) = shape[1].toInt() to shape[2].toInt()
    var at = start + headerLen
    return Array(n) {
        FloatArray(d) {
            val h = buf.getShort(at).toInt() and 0xffff
            at += 2
            halfToFloat(h)
        }
    }
}

/** An app-side embedder: "row N" is row N of a table of precomputed vectors. */
class TableEmbedder(private val rows: Array<FloatArray>, private val id: String) : Embedder {
    override fun embed(text: String): List<Float> {
        val row = text.removePrefix("row ").toIntOrNull()
            ?: throw RouterException.Embed("no vector for \"$text\"")
        return rows[row].toList()
    }
    override fun dim(): UInt = rows[0].size.toUInt()
    override fun modelId(): String = id
    override fun isMock(): Boolean = false
}

/** An embedder that fails with an exception the API does not declare. */
class BrokenEmbedder(private val dim: Int) : Embedder {
    override fun embed(text: String): List<Float> = throw IllegalStateException("model not loaded")
    override fun dim(): UInt = dim.toUInt()
    override fun modelId(): String = "all-MiniLM-L6-v2"
    override fun isMock(): Boolean = false
}

data class Expected(val pref: Double, val row: Int, val model: String, val modelIndex: Int,
                    val cluster: Int, val similarity: Float, val confidence: Float,
                    val expectedError: Double)

fun field(json: String, name: String): String =
    Regex(""""$name":("[^"]*"|[^,}]+)""").find(json)?.groupValues?.get(1)?.trim('"')
        ?: error("no \"$name\" in $json")

fun parseExpected(path: String): List<Expected> = File(path).readLines().filter { it.isNotBlank() }.map {
    val (pref, json) = it.split('\t', limit = 2)
    Expected(
        pref.toDouble(), field(json, "row").toInt(), field(json, "model"),
        field(json, "model_index").toInt(), field(json, "cluster").toInt(),
        field(json, "similarity").toDouble().toFloat(), field(json, "confidence").toDouble().toFloat(),
        field(json, "expected_error").toDouble(),
    )
}

fun same(name: String, d: RouteDecision, e: Expected) {
    check(name, d.modelName == e.model && d.modelIndex.toInt() == e.modelIndex &&
        d.cluster.toInt() == e.cluster && d.similarity == e.similarity &&
        d.confidence == e.confidence && d.expectedError == e.expectedError) { "$d vs $e" }
}

fun main(args: Array<String>) {
    if (args.size != 3) {
        System.err.println("usage: RouterTestKt PROFILE EMBEDDINGS_NPY EXPECTED_TSV")
        exitProcess(2)
    }
    val (profilePath, npyPath, expectedPath) = args
    check("version", version().isNotEmpty())

    // Loading: path, string and bytes give the same router.
    val router = Router.fromPath(profilePath)
    val json = File(profilePath).readText()
    val fromJson = Router.fromJson(json)
    val fromBytes = Router.fromBytes(File(profilePath).readBytes())
    val s = router.summary()
    check("summary", s.dim == 384u && s.modelCount == 9u && s.embeddingModel == "all-MiniLM-L6-v2" &&
        !s.isMock && s.clusterCount > 1u && s.recommendedTopK >= 1u && s.recommendedTemperature > 0f) { "$s" }
    check("dim", router.dim() == 384u)
    val models = router.models()
    check("models", models.size == 9 && models.withIndex().all { (i, m) -> m.index.toInt() == i }) { "$models" }
    val clusters = router.clusters()
    check("clusters", clusters.size == s.clusterCount.toInt() &&
        clusters.all { it.expectedErrors.size == 9 && it.bestModelIndex < 9u }) { "$clusters" }

    // Same answers as the Rust API (`aurora route --json`).
    val rows = loadNpyF16(npyPath)
    val expected = parseExpected(expectedPath)
    check("expected answers present", expected.size >= 20) { "${expected.size}" }
    val table = TableEmbedder(rows, "all-MiniLM-L6-v2")
    for (e in expected) {
        val q = rows[e.row].toList()
        same("routeEmbedding row ${e.row} p ${e.pref}", router.routeEmbedding(q, e.pref), e)
        same("fromJson row ${e.row} p ${e.pref}", fromJson.routeEmbedding(q, e.pref), e)
        same("fromBytes row ${e.row} p ${e.pref}", fromBytes.routeEmbedding(q, e.pref), e)
        // Text through an embedder implemented in Kotlin.
        same("routeText row ${e.row} p ${e.pref}", router.routeText("row ${e.row}", table, e.pref), e)
        val withOptions = router.routeEmbeddingWith(q, RouteOptions(costPreference = e.pref))
        same("routeEmbeddingWith row ${e.row} p ${e.pref}", withOptions, e)
    }

    // Options reach the router: a single allowed model is always chosen.
    val only = models[4].name
    val d = router.routeEmbeddingWith(rows[0].toList(), RouteOptions(allowedModels = listOf(only), softTopK = 3u))
    check("allowedModels", d.modelName == only && d.modelIndex == 4u) { "$d" }

    // Many threads share one router.
    val byThread = Array(4) { arrayOfNulls<RouteDecision>(expected.size) }
    (0 until 4).map { t ->
        thread { expected.forEachIndexed { i, e -> byThread[t][i] = router.routeEmbedding(rows[e.row].toList(), e.pref) } }
    }.forEach { it.join() }
    expected.forEachIndexed { i, e -> (0 until 4).forEach { t -> same("thread $t row ${e.row}", byThread[t][i]!!, e) } }

    // Typed errors.
    expectThrows<RouterException.InvalidProfile>("malformed profile JSON") { Router.fromJson("{\"version\": \"2.0\",") }
    expectThrows<RouterException.InvalidProfile>("truncated profile bytes") {
        Router.fromBytes(json.toByteArray().copyOf(json.length / 2))
    }
    expectThrows<RouterException.InvalidProfile>("missing profile file") { Router.fromPath("/nonexistent/profile.json") }
    val dim = expectThrows<RouterException.Dimension>("wrong dimension") { router.routeEmbedding(listOf(1f, 2f), 0.0) }
    check("dimension fields", dim?.expected == 384uL && dim.got == 2uL) { "$dim" }
    expectThrows<RouterException.InvalidEmbedding>("zero vector") { router.routeEmbedding(List(384) { 0f }, 0.0) }
    expectThrows<RouterException.InvalidEmbedding>("NaN component") {
        router.routeEmbedding(List(384) { if (it == 5) Float.NaN else 1f }, 0.0)
    }
    expectThrows<RouterException.InvalidOption>("cost preference out of range") { router.routeEmbedding(rows[0].toList(), 1.5) }
    expectThrows<RouterException.InvalidOption>("unknown allowed model") {
        router.routeEmbeddingWith(rows[0].toList(), RouteOptions(allowedModels = listOf("nope")))
    }
    val mismatch = expectThrows<RouterException.EmbedderMismatch>("embedder for another model") {
        router.routeText("row 0", TableEmbedder(rows, "some-other-model"), 0.0)
    }
    check("mismatch fields", mismatch?.profileModel == "all-MiniLM-L6-v2" && mismatch.embedderModel == "some-other-model") { "$mismatch" }
    val thrown = expectThrows<RouterException.Embed>("the embedder's own error") { router.routeText("hello", table, 0.0) }
    check("embed reason", thrown?.reason?.contains("no vector") == true) { "$thrown" }
    expectThrows<RouterException.Internal>("an undeclared exception in the embedder") {
        router.routeText("row 0", BrokenEmbedder(384), 0.0)
    }

    // The built-in Cactus embedder (the mock Cactus on x86 hosts).
    val mock = try { CactusEmbedder.mock(384u) } catch (e: RouterException) { null }
    if (mock != null) {
        check("cactus mock", mock.isMock() && mock.dim() == 384u && mock.embed("What is 2 + 2?").size == 384)
        expectThrows<RouterException.EmbedderMismatch>("mock embedder on a MiniLM profile") {
            router.routeText("What is 2 + 2?", mock, 0.0)
        }
        mock.close()
    }
    expectThrows<RouterException.Embed>("missing Cactus model") { CactusEmbedder("/nonexistent/model") }

    // The model pool, route_and_complete through the mock Cactus (hosts
    // without the real engine; on x86 the mock is all there is).
    val mockLinked = try { CactusEmbedder.mock(8u).close(); true } catch (e: RouterException) { false }
    if (mockLinked) {
        val poolProfile = """{"version":"2.0",
  "metadata":{"n_clusters":2,"feature_dim":2,"embedding_model":"toy","is_mock":true,
    "silhouette_score":0.5,"clustering_algorithm":"kmeans","params":{"k":2},"selection":[],
    "noise_fraction":0.0,"dataset_sha256":"0","seed":1,"generator":"hand"},
  "cluster_centers":{"dtype":"float16","encoding":"base64-le","shape":[2,2],"data":"ADwAAAAAADw="},
  "cluster_sizes":[10,10],
  "llm_profiles":{"small":[0.5,0.1],"big":[0.1,0.1],"huge":[0.0,0.0]},
  "models":[{"name":"small","cost":1,"path":"mock:","size_mb":800},
            {"name":"big","cost":10,"path":"mock:","size_mb":3000},
            {"name":"huge","cost":50,"path":"mock:","size_mb":40000}]}"""
        val poolRouter = Router.fromJson(poolProfile)
        val pool = ModelPool(poolRouter, 4000.0, null)
        val answer = pool.routeAndCompleteEmbedding(
            listOf(0.9f, 0.1f), listOf(ChatMessage("user", "Which is prime?\nA. 4\nB. 7")), 0.0)
        check("pool decision", answer.decision.model == "big" && answer.decision.loaded) { "${answer.decision}" }
        check("pool excluded", answer.decision.excluded.any { it.model == "huge" && it.reason.contains("budget") })
        check("pool completion", answer.completion.response.contains("The answer is (")) { answer.completion.response }
        check("pool resident", pool.residentMb() == 3000.0 && pool.residentModels() == listOf("big"))
        expectThrows<RouterException.Model>("pool budget too small for any model") { ModelPool(poolRouter, 10.0, null) }
        pool.close()
        poolRouter.close()
    }

    // Semantic routes: a two-route set (weather, music) with a "none" threshold.
    val routesJson = """{"version":"3.0","routes":{"format":"softmax-head-v1",
  "embedding_model":"toy","dim":2,"is_mock":false,"names":["weather","music"],
  "weights":{"dtype":"float16","encoding":"base64-le","shape":[2,2],"data":"AEoAAAAAAEo="},
  "bias":[0.0,0.0],"temperature":1.0,"threshold":0.9,
  "session":{"decay":0.7,"switch":0.8}}}"""
    val routes = RouteSet.fromJson(routesJson)
    val routesFromBytes = RouteSet.fromBytes(routesJson.toByteArray())
    check("routes count", routes.routeCount() == 2u && routesFromBytes.routeCount() == 2u)
    check("routes names", routes.routeNames() == listOf("weather", "music")) { "${routes.routeNames()}" }
    check("routes model", routes.embeddingModel() == "toy")
    val sunny = routes.matchEmbedding(listOf(1.0f, 0.05f))
    check("routes match", sunny.route == "weather" && sunny.best == "weather" && sunny.runnerUp == "music" &&
        sunny.score > 0.9f && Math.abs(sunny.margin - (sunny.score - sunny.runnerUpScore)) < 1e-6f) { "$sunny" }
    val unsure = routes.matchEmbedding(listOf(1.0f, 1.0f))
    check("routes none", unsure.route == null && unsure.score < 0.9f) { "$unsure" }
    check("routes same from bytes", routesFromBytes.matchEmbedding(listOf(1.0f, 0.05f)) == sunny)
    val convo = routes.session()
    check("session first turn", convo.pushEmbedding(listOf(1.0f, 0.0f)).route == "weather")
    check("session holds an unsure turn", convo.pushEmbedding(listOf(1.0f, 1.05f)).route == "weather")
    convo.reset()
    check("session reset", convo.pushEmbedding(listOf(1.0f, 1.05f)).route == null)
    val convo2 = RouteSession(routes)
    check("session constructor", convo2.pushEmbedding(listOf(0.0f, 1.0f)).route == "music")
    expectThrows<RouterException.Dimension>("routes wrong dimension") { routes.matchEmbedding(listOf(1.0f)) }
    expectThrows<RouterException.Dimension>("session wrong dimension") { convo.pushEmbedding(listOf(1.0f, 0.0f, 0.0f)) }
    expectThrows<RouterException.InvalidEmbedding>("routes NaN") { routes.matchEmbedding(listOf(Float.NaN, 1.0f)) }
    expectThrows<RouterException.InvalidProfile>("routes bad JSON") { RouteSet.fromJson("{\"version\":\"3.0\"}") }
    expectThrows<RouterException>("routes missing file") { RouteSet.fromPath("/nonexistent/routes.json") }
    convo.close()
    convo2.close()
    routes.close()
    routesFromBytes.close()

    router.close()
    fromJson.close()
    fromBytes.close()
    println("kotlin: $passed passed, $failed failed")
    exitProcess(if (failed == 0) 0 else 1)
}
