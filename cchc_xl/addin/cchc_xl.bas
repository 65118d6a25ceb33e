Attribute VB_Name = "CchcXl"
' cchc_xl Excel add-in: the ribbon callbacks of the "CCHC" tab (customUI onAction="CchcXl.<Sub>").
' Each one calls Python through xlwings' RunPython (module "xlwings" of the same add-in);
' the work is done by cchc_xl.addin.entry / cchc_xl.addin.actions.
' Plain ASCII on purpose: VBA source is stored in the project's code page (Windows-1252).
' To add by hand: VBA editor (Alt+F11) > select the add-in's project > File > Import File... > cchc_xl.bas
Option Explicit

Sub KiemTraTepNay(control As IRibbonControl)
    RunPython "import cchc_xl.addin.entry as e; e.kiem_tra_tep_nay()"
End Sub

Sub TongHopThuMuc(control As IRibbonControl)
    RunPython "import cchc_xl.addin.entry as e; e.tong_hop_thu_muc()"
End Sub

Sub TinhHinhNopBaoCao(control As IRibbonControl)
    RunPython "import cchc_xl.addin.entry as e; e.tinh_hinh_nop_bao_cao()"
End Sub
