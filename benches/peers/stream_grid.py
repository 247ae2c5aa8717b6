import itertools, json, subprocess, sys, statistics, os, shutil
from concurrent.futures import ThreadPoolExecutor
A="/work/wt-stream/target/debug/aurora"
split=sys.argv[1]
def run(cfg, seed):
    d=f"/tmp/streamq/g_{os.getpid()}_{abs(hash((cfg,seed)))}"
    shutil.rmtree(d, ignore_errors=True)
    j,f,m,mf,sp,pc=cfg
    subprocess.run([A,"-q","stream","ingest","--store",d,"--items",f"clinc_{split}.jsonl","--embeddings",f"clinc_{split}.f16.npy","--embedding-model","m","--order-seed",str(seed),"--no-fsync","--json",
      "--join-threshold",str(j),"--found-threshold",str(f),"--merge-threshold",str(m),"--min-founders",str(mf),"--split-spread",str(sp),"--pending-capacity",str(pc)],check=True,capture_output=True)
    r=json.loads(subprocess.run([A,"stream","eval","--store",d,"--items",f"clinc_{split}.jsonl","--label-field","route","--json"],check=True,capture_output=True).stdout)
    shutil.rmtree(d)
    return r
grid=list(itertools.product(*[json.loads(a) for a in sys.argv[2:8]]))
def evalcfg(cfg):
    rs=[run(cfg,s) for s in (0,1,2)]
    med=lambda k: statistics.median(r[k] for r in rs)
    return cfg, med("ari"), med("purity"), med("clusters")+med("pending"), med("hero_label_precision"), med("pending")
with ThreadPoolExecutor(2) as ex:
    res=list(ex.map(evalcfg,grid))
res.sort(key=lambda r:-r[1])
for r in res[:15]: print(r)
print("best <=300:", [r for r in res if r[3]<=300][:5])
