#!/usr/bin/env python3
"""Timeline reads, this build against a previous release, in isolation.

    scripts/ab-reads.py THIS_FIREBREAK BASELINE_FIREBREAK [PAIRS]

Fills one incident with 10,000 notes (through THIS_FIREBREAK), then, PAIRS times (default 10),
starts each binary on a fresh copy of that database and reads pages of 100 at random offsets
from 8 clients for 5 s; the order flips every pair so a machine that drifts moves both alike.
Prints pages/s per start and the median and mean of each binary.
"""
import subprocess, threading, time, http.client, json, random, shutil, os, sys, statistics, tempfile
HEAD, BASE = sys.argv[1], sys.argv[2]
PAIRS = int(sys.argv[3]) if len(sys.argv) > 3 else 10
D = tempfile.mkdtemp(prefix='ab-reads-')
def url(p): return f'sqlite:{p}'
def start(binary, db):
    p=subprocess.Popen([binary,'serve','--listen','127.0.0.1:0','--database-url',url(db)],stdout=subprocess.PIPE,stderr=subprocess.DEVNULL,env={**os.environ,'FIREBREAK_LOG':'warn'},text=True)
    while True:
        line=p.stdout.readline()
        if line.startswith('Firebreak is listening on '):
            u=line.split()[4]; host,port=u.split('//')[1].split(':'); 
            threading.Thread(target=lambda: [None for _ in p.stdout], daemon=True).start()
            return p,host,int(port.rstrip('/'))
base=f'{D}/base.db'
subprocess.run([HEAD,'admin','create-user','--email','a@example.com','--name','A','--role','admin','--database-url',url(base)],input='bench admin password\n',text=True,check=True,capture_output=True)
tok=subprocess.run([HEAD,'admin','create-token','--name','t','--scope','admin','--user','a@example.com','--database-url',url(base)],text=True,check=True,capture_output=True).stdout.strip().split()[-1]
H={'Authorization':f'Bearer {tok}','Content-Type':'application/json'}
p,host,port=start(HEAD,base)
c=http.client.HTTPConnection(host,port); c.request('POST','/api/v1/incidents',json.dumps({'title':'bench','severity':'major'}),H); r=c.getresponse(); inc=json.loads(r.read())['reference']
def fill(n):
    c=http.client.HTTPConnection(host,port)
    for i in range(n):
        c.request('POST',f'/api/v1/incidents/{inc}/timeline',json.dumps({'text':f'note {i} '+'x'*80}),H); r=c.getresponse(); r.read()
ts=[threading.Thread(target=fill,args=(1250,)) for _ in range(8)]; [t.start() for t in ts]; [t.join() for t in ts]
p.terminate(); p.wait()
print('filled', inc, flush=True)
def reads(binary, seconds=5):
    db=f'{D}/run.db'
    for s in ['','-wal','-shm']:
        if os.path.exists(db+s): os.remove(db+s)
    shutil.copy(base, db)
    p,host,port=start(binary, db)
    counts=[0]*8; stop=time.time()+1+seconds; begin=time.time()+1
    def go(i):
        c=http.client.HTTPConnection(host,port)
        while time.time()<stop:
            c.request('GET',f'/api/v1/incidents/{inc}/timeline?after={random.randint(0,9900)}&limit=100',headers=H); r=c.getresponse(); r.read()
            if time.time()>=begin: counts[i]+=1
    ts=[threading.Thread(target=go,args=(i,)) for i in range(8)]; [t.start() for t in ts]; [t.join() for t in ts]
    p.terminate(); p.wait()
    return sum(counts)/seconds
res={'head':[],'base':[]}
for it in range(PAIRS):
    order=[('head',HEAD),('base',BASE)] if it%2==0 else [('base',BASE),('head',HEAD)]
    for name,b in order:
        res[name].append(reads(b)); print(it,name,round(res[name][-1]),flush=True)
for k,v in res.items(): print(k,'median',round(statistics.median(v)),'mean',round(statistics.mean(v)))
