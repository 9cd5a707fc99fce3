"""Index commands: build, list, show, recall, eval, drop; search; explore (the notebook widget)."""
from __future__ import annotations

from ..commands import arg, command, group
from ..errors import InputError

group("index", "build and inspect vector indexes")


@command("index build", "chunk, embed and index a dataset (an existing index of that name is replaced)",
         arg("dataset", help="dataset name or NAME@vN"),
         arg("--name", required=True, metavar="I", help="index name"),
         arg("--model", "--embedder", dest="model", default="all-minilm-l6-v2", metavar="M",
             help="embedder: built-in, fine-tuned (finetune-embedder) or a local folder (default all-minilm-l6-v2)"),
         arg("--chunk-tokens", type=int, default=200, metavar="K", help="tokens per chunk (default 200)"),
         arg("--overlap", type=int, default=32, metavar="O", help="tokens shared by neighbouring chunks (default 32)"),
         arg("--dtype", default="f32", choices=["f32", "f16", "i8"], help="stored vector type (default f32)"),
         arg("--connectivity", type=int, default=16, help="HNSW graph degree (default 16)"),
         arg("--expansion-add", type=int, default=128,
             help="HNSW build breadth (default 128; 64 builds 1.6x faster with a sparser graph: then tune the search "
                  "breadth with index recall I --target 0.95)"),
         arg("--expansion-search", type=int, default=64, help="HNSW search breadth (default 64)"),
         arg("--workers", type=int, default=None,
             help="embed on a Dask LocalCluster of N processes (vectors identical to a local build)"),
         arg("--scheduler", default=None, metavar="ADDR", help="embed on an existing Dask cluster, e.g. tcp://host:8786"))
def _index_build(ns, ctx):
    from ..index.vector import build_index

    return build_index(ns.dataset, name=ns.name, model=ns.model, chunk_tokens=ns.chunk_tokens, overlap=ns.overlap,
                       dtype=ns.dtype, connectivity=ns.connectivity, expansion_add=ns.expansion_add,
                       expansion_search=ns.expansion_search, progress=not ctx.quiet, workers=ns.workers,
                       scheduler=ns.scheduler)


@command("index list", "list the vector indexes in the workspace")
def _index_list(ns, ctx):
    from ..index.vector import indexes

    return indexes()


@command("index show", "show one index: params, size, lineage", arg("name", metavar="I"))
def _index_show(ns, ctx):
    from ..index.vector import load_index

    return load_index(ns.name)


@command("index recall", "measure recall@k of the HNSW search against exact search; with --target, find the "
         "smallest expansion_search reaching it on the sample and store it for later searches",
         arg("name", metavar="I"), arg("--sample", type=int, default=1000, help="stored vectors used as queries"),
         arg("-k", type=int, default=10, dest="k", help="neighbours compared (default 10)"),
         arg("--expansion-search", type=int, default=None, help="try another search breadth (an integer >= 1)"),
         arg("--target", type=float, default=None, metavar="R",
             help="recall to reach, in (0, 1], e.g. 0.95: the smallest expansion_search meeting it is stored"),
         arg("--max-expansion", type=int, default=4096, metavar="E",
             help="widest expansion_search --target tries (default 4096)"))
def _index_recall(ns, ctx):
    from ..index.vector import load_index

    return load_index(ns.name).recall(sample=ns.sample, k=ns.k, expansion_search=ns.expansion_search,
                                      target=ns.target, max_expansion=ns.max_expansion)


@command("index eval", "retrieval quality on questions with known sources: hit@1/3/5/10, MRR and nDCG@10 with 95% "
         "CIs, each question's rank, the misses beside what was retrieved instead",
         arg("name", metavar="I", help="index name"),
         arg("--questions", required=True, metavar="N",
             help="eval set: 'pydoc-qa' (shipped), a dataset NAME or NAME@vN, or a .jsonl path"),
         arg("--gold-field", default="topic", metavar="F",
             help="field holding the id of the index record that answers each question (default topic)"),
         arg("--question-field", default=None, metavar="F",
             help="field holding the question (default: question, query, prompt, input or text)"),
         arg("-k", "--k", type=int, default=10, dest="k", help="records ranked per question, 1 to 100 (default 10)"),
         arg("--where", metavar="EXPR", default=None,
             help="search only the chunks this metadata filter keeps (the language of search --where)"))
def _index_eval(ns, ctx):
    from ..index.retrieval_eval import evaluate_retrieval

    return evaluate_retrieval(ns.name, ns.questions, gold_field=ns.gold_field, question_field=ns.question_field,
                              k=ns.k, where=ns.where, progress=not ctx.quiet)


@command("index drop", "delete an index and its files", arg("name", metavar="I"))
def _index_drop(ns, ctx):
    from ..index.vector import drop_index

    return drop_index(ns.name)


@command("search", "search an index for a text query",
         arg("index", metavar="I", help="index name"), arg("query", help="the query text (quote it)"),
         arg("-k", type=int, default=5, dest="k", help="number of results (default 5)"),
         arg("--where", metavar="EXPR", default=None,
             help="metadata filter, a small language that is parsed, never run as code: columns compared with "
                  "values by == != < <= > >=, in [...] and not in [...], joined by and / or / not and parentheses; "
                  "values are 'text' or \"text\", numbers, true/false and None (missing values compare false "
                  "except == None). E.g. \"topic == 'try' and n_words > 20\" or \"kind in ['bird', 'fish']\""),
         arg("--exact", action="store_true", help="brute-force search instead of HNSW"))
def _search(ns, ctx):
    from ..index.vector import search

    return search(ns.index, ns.query, k=ns.k, where=ns.where, exact=ns.exact)


@command("explore", "interactive search widget for an index (notebook only)", arg("index", metavar="I"))
def _explore(ns, ctx):
    if ctx.face != "magic":
        raise InputError(f"explore is a notebook widget; in a terminal use: llmops search {ns.index} \"QUERY\"")
    from ..display import widget

    return widget("explore", ns.index)
